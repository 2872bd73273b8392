#include "cli/attach.hpp"

#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include <uv.h>

#include "cli/command.hpp"
#include "cli/server_connection.hpp"
#include "client/attach/handover.hpp"
#include "client/attach/session.hpp"
#include "util/prefix_key.hpp"

namespace sb::cli {

namespace {

struct AttachOptions {
    std::string worker;
    std::string prefix;
};

int run_attach(const GlobalOptions& globals, const AttachOptions& options) {
    std::string error;
    const auto choice = choose_socket(globals, error);
    if (!choice) {
        std::cerr << "switchboard: " << error << '\n';
        return exit_failure;
    }
    return attach_terminal(choice->path, choice->workspace, options.worker,
                           options.prefix.empty() ? std::nullopt
                                                  : std::optional<std::string>(options.prefix));
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<AttachOptions>();
    command.add_option("WORKER", options->worker,
                       "The worker to show first (the workspace's first worker by default)");
    command
        .add_option("--prefix", options->prefix,
                    "The prefix key, like C-a or M-a (default: attach.prefix of the workspace, "
                    "C-b)")
        .option_text("KEY")
        .check([](const std::string& key) {
            return util::prefix_key_bytes(key)
                       ? std::string()
                       : "\"" + key + "\" is not a key; write it like C-b, C-a, C-Space or M-a";
        });
    command.footer("Exit status: 0 after detaching or when the server exits; 1 when no server "
                   "runs, the worker is unknown, standard input is not a terminal, or a signal "
                   "ended it; 2 usage error.");
    return [&globals, options] { return run_attach(globals, *options); };
}

} // namespace

int attach_terminal(const std::string& socket_path, const std::string& workspace,
                    const std::string& worker, const std::optional<std::string>& prefix) {
    auto connected = client::ControlClient::connect(socket_path, workspace);
    if (auto* failure = std::get_if<client::ClientError>(&connected)) {
        std::cerr << "switchboard: " << failure->message << '\n';
        return exit_failure;
    }
    auto& client = std::get<client::ControlClient>(connected);
    client::attach::SessionOptions options{.worker = worker};
    if (prefix) {
        options.prefix_name = *prefix;
        options.prefix = util::prefix_key_bytes(*prefix).value_or("\x02");
        options.prefix_given = true;
    }
    if (const char* term = std::getenv("TERM")) {
        options.term = term;
    }
    if (const char* colorterm = std::getenv("COLORTERM")) {
        options.colorterm = colorterm;
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    std::string farewell;
    int status = 0;
    // The server draws on this terminal itself unless it cannot reach it
    // (or SWITCHBOARD_ATTACH=client asks for the session to run here).
    const char* where = std::getenv("SWITCHBOARD_ATTACH");
    std::optional<int> handed_over;
    if (where == nullptr || std::string_view(where) != "client") {
        handed_over = client::attach::attach_through_server(&loop, client, options, farewell);
    }
    if (handed_over) {
        status = *handed_over;
    } else {
        client::attach::SocketLink link(&loop, client);
        client::attach::Session session(&loop, link, std::move(options),
                                        {.in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO});
        status = session.run(farewell);
    }
    // Let the handles the session closed finish closing.
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    if (!farewell.empty()) {
        (status == 0 ? std::cout : std::cerr) << farewell << '\n';
    }
    return status;
}

extern const CommandSpec attach_command;
const CommandSpec attach_command{"attach", "Show workers in this terminal and type into them",
                                 &define};

} // namespace sb::cli
