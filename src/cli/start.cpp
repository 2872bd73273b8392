#include "cli/command.hpp"
#include "cli/server_connection.hpp"
#include "cli/worker_selection.hpp"

namespace sb::cli {

namespace {

struct Options {
    WorkerSelection selection;
};

int run_start(const GlobalOptions& globals, const Options& options) {
    if (!options.selection.valid("start")) {
        return exit_usage;
    }
    auto params = options.selection.params();
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    auto result = call(*client, "start", params);
    if (!result) {
        return exit_failure;
    }
    print_worker_states((*result)["workers"]);
    return exit_ok;
}

std::function<int()> define(CLI::App& command, const GlobalOptions& globals) {
    auto options = std::make_shared<Options>();
    options->selection.define(command, "start");
    command.footer("Exit status: 0, or 1 when no server runs or a worker is unknown.");
    return [&globals, options] { return run_start(globals, *options); };
}

} // namespace

extern const CommandSpec start_command;
const CommandSpec start_command{"start", "Start stopped, exited or failed workers", &define};

} // namespace sb::cli
