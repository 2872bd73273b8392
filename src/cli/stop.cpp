#include <cstdio>

#include "cli/command.hpp"
#include "cli/server_connection.hpp"
#include "cli/worker_selection.hpp"
#include "util/duration.hpp"

namespace sb::cli {

namespace {

struct Options {
    WorkerSelection selection;
    std::string timeout;
};

int run_stop(const GlobalOptions& globals, const Options& options) {
    if (!options.selection.valid("stop")) {
        return exit_usage;
    }
    auto params = options.selection.params();
    if (!options.timeout.empty()) {
        const auto timeout = util::parse_duration(options.timeout);
        if (!timeout) {
            std::fprintf(stderr, "switchboard: --timeout: expected a duration like 5s or 500ms\n");
            return exit_usage;
        }
        params["timeout_ms"] = timeout->count();
    }
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    auto result = call(*client, "stop", params);
    if (!result) {
        return exit_failure;
    }
    print_worker_states((*result)["workers"]);
    return exit_ok;
}

std::function<int()> define(CLI::App& command, const GlobalOptions& globals) {
    auto options = std::make_shared<Options>();
    options->selection.define(command, "stop");
    command
        .add_option("--timeout", options->timeout,
                    "Send SIGKILL after this long instead of each worker's stop_timeout")
        ->option_text("DURATION");
    command.footer("Exit status: 0, or 1 when no server runs or a worker is unknown.");
    return [&globals, options] { return run_stop(globals, *options); };
}

} // namespace

extern const CommandSpec stop_command;
const CommandSpec stop_command{"stop", "Stop workers and wait until they have ended", &define};

} // namespace sb::cli
