#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/server_connection.hpp"
#include "util/strings.hpp"

namespace sb::cli {

namespace {

int run_reload(const GlobalOptions& globals) {
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    auto result = call(*client, "reload");
    if (!result) {
        return exit_failure;
    }
    for (const char* what : {"added", "removed", "changed", "unchanged"}) {
        const auto names = (*result)[what].get<std::vector<std::string>>();
        if (!names.empty()) {
            fmt::print("{}: {}\n", what, util::join(names, ", "));
        }
    }
    return exit_ok;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    command.footer("Re-reads the workspace file: starts added workers, stops removed ones, "
                   "restarts changed ones and leaves the rest alone. A file with errors is "
                   "refused with the messages of `switchboard check` and nothing changes. The "
                   "server also reloads on SIGHUP. Exit status: 0, 1 when no server runs or the "
                   "file has errors.");
    return [&globals] { return run_reload(globals); };
}

} // namespace

extern const CommandSpec reload_command;
const CommandSpec reload_command{
    "reload", "Apply changes of the workspace file to the running workspace", &define};

} // namespace sb::cli
