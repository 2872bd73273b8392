#include <cstdlib>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <unistd.h>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/server_connection.hpp"
#include "util/duration.hpp"
#include "util/strings.hpp"

namespace sb::cli {

namespace {

// Exit statuses of `send --wait`, by the worst outcome.
constexpr int exit_unverified = 3;
constexpr int exit_dropped = 4;
constexpr int exit_timeout = 5;
constexpr int exit_inboxed = 6;

struct SendOptions {
    std::string target;
    std::string message;
    std::string from;
    std::string key;
    bool wait = false;
    std::string timeout;
    bool json = false;
    bool to_inbox = false;
    std::string reply_to;
    bool wait_reply = false;
    std::string ttl;
};

// Waits for the first reply to each delivery and prints it (its text, or
// with --json the reply as the server gives it).
int wait_for_replies(client::ControlClient& client, const std::vector<std::string>& ids,
                     std::optional<std::chrono::milliseconds> timeout, bool as_json) {
    const auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                                  : std::chrono::steady_clock::time_point::max();
    for (const auto& id : ids) {
        std::optional<std::chrono::milliseconds> left;
        if (timeout) {
            left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            left = std::max(*left, std::chrono::milliseconds(0));
        }
        auto sent = client.send("wait_reply", {{"id", id}});
        if (auto* error = std::get_if<client::ClientError>(&sent)) {
            std::cerr << "switchboard: " << error->message << '\n';
            return exit_failure;
        }
        const auto request_id = std::get<std::uint64_t>(sent);
        while (true) {
            auto message = client.next(left);
            if (auto* error = std::get_if<client::ClientError>(&message)) {
                if (error->timed_out) {
                    std::cerr << "switchboard: no reply to " << id << " within "
                              << util::format_duration(*timeout)
                              << "; a reply that comes later is kept in the history\n";
                    return exit_timeout;
                }
                std::cerr << "switchboard: " << error->message << '\n';
                return exit_failure;
            }
            auto& got = std::get<std::optional<nlohmann::json>>(message);
            if (!got) {
                std::cerr << "switchboard: the server went away before a reply to " << id
                          << " came; its log (server.log in the workspace's state directory) "
                             "says why\n";
                return exit_failure;
            }
            if (!got->contains("id") || (*got)["id"] != request_id) {
                continue;
            }
            if (got->contains("error")) {
                std::cerr << "switchboard: " << (*got)["error"].value("message", "") << '\n';
                return exit_failure;
            }
            const auto& reply = (*got)["result"];
            if (as_json) {
                std::cout << reply.dump() << '\n';
            } else {
                std::cout << reply["body"].get<std::string>() << '\n';
            }
            std::cout.flush();
            break;
        }
    }
    return exit_ok;
}

// Waits for the outcome of every delivery, reading events from `since`.
int wait_for_outcomes(client::ControlClient& client, const std::set<std::string>& ids,
                      std::uint64_t since, std::optional<std::chrono::milliseconds> timeout,
                      bool as_json) {
    auto follow = call(client, "events", {{"follow", true}, {"since", since}});
    if (!follow) {
        return exit_failure;
    }
    std::map<std::string, std::string> outcomes;
    const auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                                  : std::chrono::steady_clock::time_point::max();
    while (outcomes.size() < ids.size()) {
        std::optional<std::chrono::milliseconds> left;
        if (timeout) {
            left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left->count() <= 0) {
                break;
            }
        }
        auto message = client.next(left);
        if (std::holds_alternative<client::ClientError>(message)) {
            break;
        }
        auto& got = std::get<std::optional<nlohmann::json>>(message);
        if (!got) {
            std::cerr
                << "switchboard: the server went away before every outcome was known; its log "
                   "(server.log in the workspace's state directory) says why\n";
            return exit_failure;
        }
        if (!got->contains("event")) {
            continue;
        }
        const auto& event = (*got)["event"];
        const std::string id = event.value("id", "");
        if (!ids.contains(id)) {
            continue;
        }
        const std::string type = event.value("type", "");
        std::string outcome;
        if (type == "delivery_verified") {
            outcome = event.value("verification", "") == "echo" ? "verified" : "unverified";
        } else if (type == "delivery_dropped") {
            outcome = "dropped";
        } else if (type == "delivery_inboxed") {
            // Nothing will type it until someone dispatches it.
            outcome = "inboxed";
        } else {
            continue;
        }
        outcomes[id] = outcome;
        if (as_json) {
            std::cout << event.dump() << '\n';
        } else {
            std::string detail = outcome;
            if (event.contains("latency_ms")) {
                detail += fmt::format(" in {} ms", event["latency_ms"].get<long long>());
            }
            if (event.contains("reason")) {
                detail += " (" + event["reason"].get<std::string>() + ")";
            }
            std::cout << id << ": " << detail << '\n';
        }
        std::cout.flush();
    }
    int status = exit_ok;
    for (const auto& [id, outcome] : outcomes) {
        if (outcome == "dropped") {
            status = exit_dropped;
        } else if (outcome == "inboxed" && status != exit_dropped) {
            status = exit_inboxed;
        } else if (outcome == "unverified" && status == exit_ok) {
            status = exit_unverified;
        }
    }
    if (outcomes.size() < ids.size()) {
        for (const auto& id : ids) {
            if (!outcomes.contains(id)) {
                std::cerr << "switchboard: " << id
                          << ": no outcome yet; still queued or in flight\n";
            }
        }
        return exit_timeout;
    }
    return status;
}

int run_send(const GlobalOptions& globals, SendOptions options) {
    std::optional<std::chrono::milliseconds> timeout;
    if (!options.timeout.empty()) {
        if (!options.wait && !options.wait_reply) {
            std::cerr << "switchboard: send: --timeout goes with --wait or --wait-reply\n";
            return exit_usage;
        }
        timeout = util::parse_duration(options.timeout);
        if (!timeout) {
            std::cerr << "switchboard: --timeout: expected a duration like 30s or 500ms\n";
            return exit_usage;
        }
    }
    std::optional<std::chrono::milliseconds> ttl;
    if (!options.ttl.empty()) {
        ttl = util::parse_duration(options.ttl);
        if (!ttl || ttl->count() <= 0) {
            std::cerr << "switchboard: --ttl: expected a duration like 10m or 30s\n";
            return exit_usage;
        }
    }
    // A reply goes to the original sender and a message for the inbox need
    // not name a worker: one argument is then the message.
    if (!options.reply_to.empty() || options.to_inbox) {
        if (options.message.empty()) {
            options.message = std::exchange(options.target, std::string());
        } else if (!options.reply_to.empty()) {
            std::cerr << "switchboard: send: a reply goes to the sender of " << options.reply_to
                      << "; give only the MESSAGE with --reply-to, no TARGET\n";
            return exit_usage;
        }
    } else if (options.target.empty()) {
        std::cerr << "switchboard: send: give a TARGET (a worker, @group or all), or --reply-to "
                     "ID, or --to-inbox\n";
        return exit_usage;
    }
    std::string body = options.message;
    if (body.empty() || body == "-") {
        if (body.empty() && ::isatty(0)) {
            std::cerr << "switchboard: send: give the message as an argument, or pipe it in "
                         "(`... | switchboard send TARGET -`)\n";
            return exit_usage;
        }
        body.assign(std::istreambuf_iterator<char>(std::cin), {});
        // A trailing newline from echo or a here-document is not part of the message.
        while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) {
            body.pop_back();
        }
    }
    // JSON cannot carry bytes that are not UTF-8; say so rather than let
    // them turn into replacement characters on the way.
    if (auto bad = util::first_invalid_utf8(body)) {
        std::cerr << "switchboard: the message is not valid UTF-8 (at byte " << *bad
                  << "); nothing was queued\n";
        return exit_failure;
    }
    std::string from = options.from;
    if (from.empty()) {
        const char* worker = std::getenv("SWITCHBOARD_WORKER");
        from = worker != nullptr && *worker != '\0' ? worker : "user";
    }
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    nlohmann::json params = {{"body", body}, {"from", from}};
    if (!options.target.empty()) {
        params["to"] = options.target;
    }
    if (!options.key.empty()) {
        params["key"] = options.key;
    }
    if (options.to_inbox) {
        params["to_inbox"] = true;
    }
    if (!options.reply_to.empty()) {
        params["reply_to"] = options.reply_to;
    }
    if (ttl) {
        params["ttl_ms"] = ttl->count();
    }
    auto result = call(*client, "send", params);
    if (!result) {
        return exit_failure;
    }
    std::set<std::string> ids;
    std::vector<std::string> in_order;
    for (const auto& d : (*result)["deliveries"]) {
        ids.insert(d["id"].get<std::string>());
        in_order.push_back(d["id"].get<std::string>());
    }
    if (options.wait_reply) {
        // What is printed is the reply, for `answer=$(switchboard send
        // --wait-reply ...)`; the ids are in the history.
        if (options.json) {
            std::cout << result->dump() << '\n';
            std::cout.flush();
        }
        return wait_for_replies(*client, in_order, timeout, options.json);
    }
    if (options.json) {
        std::cout << result->dump() << '\n';
    } else {
        for (const auto& d : (*result)["deliveries"]) {
            std::cout << d["id"].get<std::string>() << '\n';
            if (d.contains("inboxed") && options.to_inbox == false) {
                std::cerr << "switchboard: " << d["id"].get<std::string>() << ": worker \""
                          << d["to"].get<std::string>()
                          << "\" has ended and will not be restarted; the message went to the "
                             "inbox (`switchboard inbox`, `switchboard dispatch`)\n";
            }
            if (d.value("repeat", false)) {
                std::cerr << "switchboard: " << d["id"].get<std::string>() << " is reply "
                          << d["reply"].get<int>() << " to " << options.reply_to
                          << ", which had been answered before\n";
            }
        }
    }
    std::cout.flush();
    if (!options.wait) {
        return exit_ok;
    }
    // A repeated key returns deliveries that may have finished long ago;
    // their outcomes are looked for in every kept event.
    bool existing = false;
    for (const auto& d : (*result)["deliveries"]) {
        existing = existing || d.value("existing", false);
    }
    const std::uint64_t since = existing ? 0 : (*result)["since"].get<std::uint64_t>();
    return wait_for_outcomes(*client, ids, since, timeout, options.json);
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<SendOptions>();
    command.add_option("TARGET", options->target,
                       "A worker, @group, or all (everyone but the sender); none with --reply-to");
    command.add_option("MESSAGE", options->message,
                       "The message; - or nothing reads it from standard input");
    command
        .add_option("--from", options->from,
                    "Sender name (default: $SWITCHBOARD_WORKER inside a worker, else user)")
        .option_text("NAME");
    command
        .add_option("--key", options->key,
                    "Idempotency key: sending the same key again within 24 h returns the first "
                    "delivery instead of a new one")
        .option_text("KEY");
    auto wait = command.add_flag("--wait", options->wait, "Wait for every delivery's outcome");
    auto wait_reply = command.add_flag(
        "--wait-reply", options->wait_reply,
        "Wait for the reply (send --reply-to) to the message and print it instead of the id");
    wait_reply.excludes(wait);
    command
        .add_option("--timeout", options->timeout,
                    "With --wait or --wait-reply, give up after this long")
        .option_text("DURATION");
    auto reply_to =
        command
            .add_option("--reply-to", options->reply_to,
                        "Reply to delivery ID: the message goes to its sender (typed into it "
                        "when it is a worker, else handed to a client waiting with --wait-reply)")
            .option_text("ID");
    command
        .add_flag("--to-inbox", options->to_inbox,
                  "Put the message in the workspace's inbox (TARGET, if given, is kept as the "
                  "worker it is meant for) for someone to dispatch")
        .excludes(reply_to);
    command
        .add_option("--ttl", options->ttl,
                    "Drop the message (reason expired) when it has not been typed within this")
        .option_text("DURATION");
    command.add_flag("--json", options->json,
                     "Print the result (and with --wait, outcome events) as JSON");
    command.footer(
        "Prints the delivery id(s), one per line (with --wait-reply, the reply instead). A "
        "message for a worker that has ended and will not be restarted goes to the inbox. With "
        "--reply-to or --to-inbox a single argument is the message. Exit status: 0 sent (with "
        "--wait: all verified by their echo), 1 error (unknown worker or delivery, invalid "
        "message, full inbox, no server), 2 usage; with --wait 3 some unverified (timeout "
        "fallback), 4 some dropped, 5 timed out waiting (for an outcome or a reply), 6 some went "
        "to the inbox.");
    return [&globals, options] { return run_send(globals, *options); };
}

} // namespace

extern const CommandSpec send_command;
const CommandSpec send_command{"send", "Send a message to a worker, a @group, or all", &define};

} // namespace sb::cli
