#include <iostream>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/event_text.hpp"
#include "cli/server_connection.hpp"

namespace sb::cli {

std::string event_text(const nlohmann::json& event) {
    std::string fields;
    for (const auto& [key, value] : event.items()) {
        if (key == "seq" || key == "ts" || key == "type" || key == "worker") {
            continue;
        }
        fields += " " + key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
    }
    return fmt::format("{} {:>6} {:<20} {:<12}{}", event.value("ts", ""), event.value("seq", 0),
                       event.value("type", ""), event.value("worker", "-"), fields);
}

namespace {

struct EventsOptions {
    bool follow = false;
    long long since = -1;
    bool json = false;
};

void print(const nlohmann::json& event, bool as_json) {
    if (as_json) {
        std::cout << event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    } else {
        std::cout << event_text(event) << '\n';
    }
    std::cout.flush();
}

int run_events(const GlobalOptions& globals, const EventsOptions& options) {
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    nlohmann::json params = {{"follow", options.follow}};
    if (options.since >= 0) {
        params["since"] = options.since;
    }
    auto result = call(*client, "events", params);
    if (!result) {
        return exit_failure;
    }
    if ((*result).value("missed", false)) {
        std::cerr << "switchboard: events after " << options.since
                  << " are no longer all kept; the oldest were dropped\n";
    }
    if (!options.follow) {
        for (const auto& event : (*result)["events"]) {
            print(event, options.json);
        }
        return exit_ok;
    }
    while (true) {
        auto message = client->next();
        if (auto* failure = std::get_if<client::ClientError>(&message)) {
            std::cerr << "switchboard: " << failure->message << '\n';
            return exit_failure;
        }
        auto& got = std::get<std::optional<nlohmann::json>>(message);
        if (!got) {
            // The server went away (down): the stream is over.
            return exit_ok;
        }
        if (got->contains("event")) {
            print((*got)["event"], options.json);
        }
    }
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<EventsOptions>();
    command.add_flag("--follow", options->follow,
                     "Keep printing new events as they happen, until the server stops");
    command
        .add_option("--since", options->since,
                    "Print the kept events after sequence number SEQ (0 for all kept)")
        .option_text("SEQ")
        .check_non_negative();
    command.add_flag("--json", options->json, "One JSON object per line");
    command.footer("Without --follow or --since, prints every event the server keeps (the last "
                   "10000). Exit status: 0 (also when the server stops during --follow), 1 when "
                   "no server runs.");
    return [&globals, options] { return run_events(globals, *options); };
}

} // namespace

extern const CommandSpec events_command;
const CommandSpec events_command{"events", "Print the workspace's events, or follow them", &define};

} // namespace sb::cli
