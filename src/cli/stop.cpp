#include "cli/command.hpp"
#include "cli/server_connection.hpp"
#include "cli/worker_selection.hpp"

namespace sb::cli {

namespace {

struct Options {
    WorkerSelection selection;
    std::string timeout;
};

int run_stop(const GlobalOptions& globals, const Options& options) {
    nlohmann::json extra = nlohmann::json::object();
    if (!add_timeout(options.timeout, extra)) {
        return exit_usage;
    }
    return run_on_workers(globals, "stop", options.selection, extra);
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<Options>();
    options->selection.define(command, "stop");
    command
        .add_option("--timeout", options->timeout,
                    "Send SIGKILL after this long instead of each worker's stop_timeout")
        .option_text("DURATION");
    command.footer("Exit status: 0, or 1 when no server runs or a worker is unknown.");
    return [&globals, options] { return run_stop(globals, *options); };
}

} // namespace

extern const CommandSpec stop_command;
const CommandSpec stop_command{"stop", "Stop workers and wait until they have ended", &define};

} // namespace sb::cli
