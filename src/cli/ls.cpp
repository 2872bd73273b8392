#include <iostream>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/server_connection.hpp"
#include "util/duration.hpp"

namespace sb::cli {

namespace {

struct LsOptions {
    bool json = false;
};

std::string exit_text(const nlohmann::json& exit) {
    if (exit.is_null()) {
        return "-";
    }
    if (!exit["code"].is_null()) {
        return fmt::format("code {}", exit["code"].get<int>());
    }
    if (!exit["signal"].is_null()) {
        return fmt::format("signal {}", exit["signal"].get<int>());
    }
    return "-";
}

int run_ls(const GlobalOptions& globals, const LsOptions& options) {
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    auto result = call(*client, "ls");
    if (!result) {
        return exit_failure;
    }
    if (options.json) {
        std::cout << result->dump(2) << '\n';
        return exit_ok;
    }
    fmt::print("{:<16} {:<11} {:>8} {:>9} {:>8} {:<12} {:<8} {}\n", "WORKER", "STATE", "PID",
               "UPTIME", "RESTARTS", "LAST EXIT", "SIZE", "REASON");
    for (const auto& w : (*result)["workers"]) {
        const auto pid =
            w["pid"].is_null() ? std::string("-") : std::to_string(w["pid"].get<int>());
        const auto uptime = w["pid"].is_null()
                                ? std::string("-")
                                : util::human_duration(w["uptime_ms"].get<long long>());
        const auto size =
            fmt::format("{}x{}", w["size"]["cols"].get<int>(), w["size"]["rows"].get<int>());
        const std::string state = w["state"].get<std::string>();
        std::string reason = state == "running" ? "" : w["reason"].get<std::string>();
        if (const auto stalled = w.value("stalled", 0); stalled > 0) {
            // Deliveries typed and not taken wait for someone to act.
            reason += fmt::format("{}{} stalled (switchboard pending)", reason.empty() ? "" : "; ",
                                  stalled);
        }
        fmt::print("{:<16} {:<11} {:>8} {:>9} {:>8} {:<12} {:<8} {}\n",
                   w["name"].get<std::string>(), state, pid, uptime, w["restarts"].get<int>(),
                   exit_text(w["exit"]), size, reason);
    }
    return exit_ok;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<LsOptions>();
    command.add_flag("--json", options->json, "Print the workers as JSON");
    command.footer("Exit status: 0, or 1 when no server runs for the workspace.");
    return [&globals, options] { return run_ls(globals, *options); };
}

} // namespace

extern const CommandSpec ls_command;
const CommandSpec ls_command{"ls", "List the workers of a running workspace with their state",
                             &define};

} // namespace sb::cli
