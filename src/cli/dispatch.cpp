#include <iostream>

#include "cli/command.hpp"
#include "cli/server_connection.hpp"

namespace sb::cli {

namespace {

struct DispatchOptions {
    std::string id;
    std::string worker;
};

int run_dispatch(const GlobalOptions& globals, const DispatchOptions& options) {
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    if (!call(*client, "dispatch", {{"id", options.id}, {"worker", options.worker}})) {
        return exit_failure;
    }
    std::cout << options.id << ": queued for " << options.worker << '\n';
    return exit_ok;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<DispatchOptions>();
    command.add_option("ID", options->id, "A delivery in the inbox, as inbox lists it").required();
    command.add_option("WORKER", options->worker, "The worker to give it to").required();
    command.footer("Moves a message from the inbox to a worker's queue (event "
                   "delivery_dispatched, then delivery_queued). It leaves the inbox only once the "
                   "store has it in the queue; when the worker is unknown, has ended for good, or "
                   "the store cannot save the move, it stays in the inbox. Exit status: 0, 1 when "
                   "it was not dispatched or no server runs.");
    return [&globals, options] { return run_dispatch(globals, *options); };
}

} // namespace

extern const CommandSpec dispatch_command;
const CommandSpec dispatch_command{"dispatch", "Give a message in the inbox to a worker", &define};

} // namespace sb::cli
