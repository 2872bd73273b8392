#include <iostream>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/server_connection.hpp"

namespace sb::cli {

namespace {

struct PendingOptions {
    std::string worker;
    bool json = false;
};

int run_pending(const GlobalOptions& globals, const PendingOptions& options) {
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    nlohmann::json params = nlohmann::json::object();
    if (!options.worker.empty()) {
        params["worker"] = options.worker;
    }
    auto result = call(*client, "pending", params);
    if (!result) {
        return exit_failure;
    }
    if (options.json) {
        std::cout << result->dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
        return exit_ok;
    }
    fmt::print("{:<10} {:<14} {:<14} {:<10} {:>8} {:>6}  {}\n", "ID", "FROM", "TO", "STAGE",
               "BYTES", "TRIES", "WAITING FOR");
    for (const auto& d : (*result)["deliveries"]) {
        fmt::print("{:<10} {:<14} {:<14} {:<10} {:>8} {:>6}  {}\n", d["id"].get<std::string>(),
                   d["from"].get<std::string>(), d["to"].get<std::string>(),
                   d["stage"].get<std::string>(), d["bytes"].get<std::size_t>(),
                   d["attempts"].get<int>(),
                   d.contains("waiting_for") ? d["waiting_for"].get<std::string>()
                                             : d.value("reason", ""));
    }
    return exit_ok;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<PendingOptions>();
    command.add_option("WORKER", options->worker, "Only this worker's deliveries");
    command.add_flag("--json", options->json, "Print the deliveries as JSON");
    command.footer("Lists queued and in-flight deliveries with what each waits for (not running, "
                   "not ready, held, typing, submitting, stalled, draft, composer, output, "
                   "throttle, busy), and those typed but not yet taken (stage submitting, "
                   "submitted, or stalled with its reason: not_submitted, person_typing, "
                   "not_accepted). Exit status: 0, 1 when no server runs or the worker is "
                   "unknown.");
    return [&globals, options] { return run_pending(globals, *options); };
}

} // namespace

extern const CommandSpec pending_command;
const CommandSpec pending_command{"pending", "List queued, in-flight and stalled deliveries",
                                  &define};

} // namespace sb::cli
