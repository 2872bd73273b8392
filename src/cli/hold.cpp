#include "cli/command.hpp"
#include "cli/server_connection.hpp"

namespace sb::cli {

namespace {

int run_hold(const GlobalOptions& globals, const std::string& worker) {
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    return call(*client, "hold", {{"worker", worker}}) ? exit_ok : exit_failure;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto worker = std::make_shared<std::string>();
    command.add_option("WORKER", *worker, "The worker").required();
    command.footer("Exit status: 0, 1 when no server runs or the worker is unknown.");
    return [&globals, worker] { return run_hold(globals, *worker); };
}

} // namespace

extern const CommandSpec hold_command;
const CommandSpec hold_command{"hold", "Pause injection into a worker (its queue keeps filling)",
                               &define};

} // namespace sb::cli
