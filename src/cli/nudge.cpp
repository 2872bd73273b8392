#include <iostream>

#include "cli/command.hpp"
#include "cli/server_connection.hpp"

namespace sb::cli {

namespace {

int run_nudge(const GlobalOptions& globals, const std::vector<std::string>& ids) {
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    int status = exit_ok;
    for (const auto& id : ids) {
        if (call(*client, "nudge", {{"id", id}})) {
            std::cout << id << ": submit pressed\n";
        } else {
            status = exit_failure;
        }
    }
    return status;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto ids = std::make_shared<std::vector<std::string>>();
    command.add_option("ID", *ids, "Delivery ids, as send and pending print them").required();
    command.footer("Presses the worker's submit key for a delivery that is stalled (pending "
                   "shows it), or that has yet to be submitted or accepted, and follows it "
                   "again (event delivery_nudged, then delivery_state). Exit status: 0, 1 when "
                   "one is not such a delivery or no server runs.");
    return [&globals, ids] { return run_nudge(globals, *ids); };
}

} // namespace

extern const CommandSpec nudge_command;
const CommandSpec nudge_command{"nudge", "Press submit again for a stalled delivery", &define};

} // namespace sb::cli
