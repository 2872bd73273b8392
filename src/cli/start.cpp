#include "cli/command.hpp"
#include "cli/server_connection.hpp"
#include "cli/worker_selection.hpp"

namespace sb::cli {

namespace {

struct Options {
    WorkerSelection selection;
};

int run_start(const GlobalOptions& globals, const Options& options) {
    return run_on_workers(globals, "start", options.selection);
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<Options>();
    options->selection.define(command, "start");
    command.footer("Exit status: 0, or 1 when no server runs or a worker is unknown.");
    return [&globals, options] { return run_start(globals, *options); };
}

} // namespace

extern const CommandSpec start_command;
const CommandSpec start_command{"start", "Start stopped, exited or failed workers", &define};

} // namespace sb::cli
