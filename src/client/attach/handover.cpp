#include "client/attach/handover.hpp"

#include <cerrno>
#include <csignal>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "client/attach/tty.hpp"
#include "protocol/protocol.hpp"
#include "util/uv.hpp"

namespace sb::client::attach {

using nlohmann::json;

std::optional<int> attach_through_server(uv_loop_t* loop, ControlClient& client,
                                         const SessionOptions& options, std::string& farewell) {
    struct stat in {};
    struct stat out {};
    if (::isatty(STDIN_FILENO) == 0 || ::isatty(STDOUT_FILENO) == 0 ||
        ::fstat(STDIN_FILENO, &in) != 0 || ::fstat(STDOUT_FILENO, &out) != 0 ||
        in.st_rdev != out.st_rdev) {
        return std::nullopt;
    }
    const char* name = ::ttyname(STDIN_FILENO);
    termios saved{};
    if (name == nullptr || ::tcgetattr(STDIN_FILENO, &saved) != 0) {
        return std::nullopt;
    }
    json params = {{"tty", name},
                   {"device", static_cast<std::uint64_t>(in.st_rdev)},
                   {"worker", options.worker}};
    if (options.prefix_given) {
        params["prefix"] = options.prefix_name;
    }
    if (options.term) {
        params["term"] = *options.term;
    }
    if (options.colorterm) {
        params["colorterm"] = *options.colorterm;
    }

    // From here on the server may have the terminal: signals are passed on.
    std::optional<int> status;
    util::Signal winch(loop);
    util::Signal term(loop);
    util::Signal hup(loop);
    util::Poll server(loop, client.fd());
    const auto done = [&](int code, std::string message) {
        forget_crash_restore();
        status = code;
        farewell = std::move(message);
        winch.stop();
        term.stop();
        hup.stop();
        server.stop();
    };
    winch.start(SIGWINCH, [&] { (void)client.send("attach_terminal_resize"); });
    term.start(SIGTERM, [&] {
        (void)client.send("attach_terminal_end", {{"status", 1}, {"message", "[terminated]"}});
    });
    hup.start(SIGHUP, [&] { (void)client.send("attach_terminal_end", {{"status", 1}}); });

    auto response = client.call("attach_terminal", params);
    if (auto* error = std::get_if<ClientError>(&response)) {
        farewell = "switchboard attach: " + error->message;
        return 1;
    }
    const json& answer = std::get<json>(response);
    if (answer.contains("error")) {
        if (answer["error"].value("code", "") == protocol::errors::terminal_unavailable) {
            return std::nullopt;
        }
        farewell = "switchboard attach: " + answer["error"].value("message", "refused");
        return 1;
    }
    const json stream = answer["id"];
    // The server restores the terminal when this process goes; a crash
    // restores it at once as well, as it does when the client draws.
    restore_on_crash(STDIN_FILENO, saved);

    const auto read = [&] {
        auto available = client.read_available();
        for (const auto& message : available.messages) {
            if (message.contains("stream") && message["stream"] == stream &&
                message.contains("detached")) {
                const auto& detached = message["detached"];
                done(detached.value("status", 0), detached.value("message", ""));
                return;
            }
        }
        if (available.closed) {
            // The server went without giving the terminal back.
            ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
            write_all(STDOUT_FILENO, terminal_restore_sequence());
            done(0, available.error ? "[lost the server: " + available.error->message + "]"
                                    : "[server exited]");
        }
    };
    server.start(UV_READABLE | UV_DISCONNECT, [&](int, int) { read(); });
    // The session may have ended already (an unknown worker).
    read();
    if (!status) {
        uv_run(loop, UV_RUN_DEFAULT);
    }
    return status.value_or(1);
}

} // namespace sb::client::attach
