#include "cli/command.hpp"
#include "cli/server_connection.hpp"
#include "cli/worker_selection.hpp"

namespace sb::cli {

namespace {

struct Options {
    WorkerSelection selection;
};

int run_restart(const GlobalOptions& globals, const Options& options) {
    return run_on_workers(globals, "restart", options.selection);
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<Options>();
    options->selection.define(command, "restart");
    command.footer("Exit status: 0, or 1 when no server runs or a worker is unknown.");
    return [&globals, options] { return run_restart(globals, *options); };
}

} // namespace

extern const CommandSpec restart_command;
const CommandSpec restart_command{"restart", "Stop workers and start them again", &define};

} // namespace sb::cli
