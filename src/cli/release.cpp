#include "cli/command.hpp"
#include "cli/server_connection.hpp"

namespace sb::cli {

namespace {

int run_release(const GlobalOptions& globals, const std::string& worker) {
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    return call(*client, "release", {{"worker", worker}}) ? exit_ok : exit_failure;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto worker = std::make_shared<std::string>();
    command.add_option("WORKER", *worker, "The worker").required();
    command.footer("Exit status: 0, 1 when no server runs or the worker is unknown.");
    return [&globals, worker] { return run_release(globals, *worker); };
}

} // namespace

extern const CommandSpec release_command;
const CommandSpec release_command{"release", "Resume injection into a held worker", &define};

} // namespace sb::cli
