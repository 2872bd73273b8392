#include <iostream>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/server_connection.hpp"
#include "util/duration.hpp"

namespace sb::cli {

namespace {

struct InboxOptions {
    bool json = false;
};

int run_inbox(const GlobalOptions& globals, const InboxOptions& options) {
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    auto result = call(*client, "inbox");
    if (!result) {
        return exit_failure;
    }
    if (options.json) {
        std::cout << result->dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
        return exit_ok;
    }
    fmt::print("{:<10} {:<14} {:<14} {:<15} {:>7}  {}\n", "ID", "FROM", "TO", "REASON", "AGE",
               "PREVIEW");
    for (const auto& d : (*result)["deliveries"]) {
        const std::string to = d["to"].get<std::string>();
        std::string preview = d["preview"].get<std::string>();
        for (auto& c : preview) {
            if (c == '\n' || c == '\t') {
                c = ' ';
            }
        }
        fmt::print("{:<10} {:<14} {:<14} {:<15} {:>7}  {}\n", d["id"].get<std::string>(),
                   d["from"].get<std::string>(), to.empty() ? "-" : to,
                   d["reason"].get<std::string>(),
                   util::human_duration(d["age_ms"].get<long long>()), preview);
    }
    return exit_ok;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<InboxOptions>();
    command.add_flag("--json", options->json, "Print the inbox as JSON");
    command.footer(
        "Lists the messages no worker takes, oldest first: those sent with send --to-inbox "
        "(reason requested), to a worker that has ended and will not be restarted (worker_gone), "
        "or to a worker a reload removed (worker_removed). TO is the worker each was meant for. "
        "Give one to a worker with dispatch, drop one with cancel. Exit status: 0, 1 when no "
        "server runs.");
    return [&globals, options] { return run_inbox(globals, *options); };
}

} // namespace

extern const CommandSpec inbox_command;
const CommandSpec inbox_command{"inbox", "List the messages no worker takes", &define};

} // namespace sb::cli
