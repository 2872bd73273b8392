#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <signal.h>
#include <thread>

#include "cli/command.hpp"
#include "cli/server_connection.hpp"

namespace sb::cli {

namespace {

// Whether the process has gone: no such pid, or only a zombie whose parent
// has not collected it yet (a foreground server under a test harness).
bool process_gone(int pid) {
    if (::kill(pid, 0) != 0) {
        return errno == ESRCH;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) {
        return true;
    }
    const auto close = line.rfind(')');
    return close != std::string::npos && line.size() > close + 2 && line[close + 2] == 'Z';
}

struct DownOptions {
    std::string timeout;
};

int run_down(const GlobalOptions& globals, const DownOptions& options) {
    nlohmann::json params = nlohmann::json::object();
    if (!add_timeout(options.timeout, params)) {
        return exit_usage;
    }
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    const auto pid = client->hello().value("pid", 0);
    const auto name = client->hello().value("workspace", std::string());
    auto result = call(*client, "down", params);
    if (!result) {
        return exit_failure;
    }
    // The answer comes once every worker has stopped; the command returns
    // when the server process itself has gone.
    while (true) {
        auto message = client->next(std::chrono::seconds(30));
        if (std::holds_alternative<client::ClientError>(message) ||
            !std::get<std::optional<nlohmann::json>>(message)) {
            break;
        }
    }
    for (int i = 0; pid > 0 && i < 3000; ++i) {
        if (process_gone(pid)) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::cout << "workspace \"" << name << "\" is down\n";
    return exit_ok;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<DownOptions>();
    command
        .add_option("--timeout", options->timeout,
                    "Send SIGKILL to workers still running after this long, instead of after "
                    "each worker's stop_timeout")
        .option_text("DURATION");
    command.footer("Stops every worker and the server, and returns when the server has exited. "
                   "Exit status: 0, 1 when no server runs, 2 usage error.");
    return [&globals, options] { return run_down(globals, *options); };
}

} // namespace

extern const CommandSpec down_command;
const CommandSpec down_command{"down", "Stop every worker and the server of a workspace", &define};

} // namespace sb::cli
