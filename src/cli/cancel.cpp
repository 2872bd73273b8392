#include <iostream>

#include "cli/command.hpp"
#include "cli/server_connection.hpp"

namespace sb::cli {

namespace {

int run_cancel(const GlobalOptions& globals, const std::vector<std::string>& ids) {
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    int status = exit_ok;
    for (const auto& id : ids) {
        if (call(*client, "cancel", {{"id", id}})) {
            std::cout << id << ": cancelled\n";
        } else {
            status = exit_failure;
        }
    }
    return status;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto ids = std::make_shared<std::vector<std::string>>();
    command.add_option("ID", *ids, "Delivery ids, as send, pending and inbox print them")
        .required();
    command.footer("Removes queued deliveries, or messages in the inbox (event delivery_dropped, "
                   "reason cancelled). A delivery already being typed cannot be cancelled. Exit "
                   "status: 0, 1 when one could not be cancelled or no server runs.");
    return [&globals, ids] { return run_cancel(globals, *ids); };
}

} // namespace

extern const CommandSpec cancel_command;
const CommandSpec cancel_command{"cancel", "Remove queued deliveries or messages in the inbox",
                                 &define};

} // namespace sb::cli
