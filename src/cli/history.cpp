#include <chrono>
#include <ctime>
#include <iostream>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/server_connection.hpp"
#include "delivery/store.hpp"
#include "util/duration.hpp"
#include "util/paths.hpp"

namespace sb::cli {

namespace {

struct HistoryOptions {
    std::string worker;
    std::string since;
    bool json = false;
};

// A finish time as the local clock showed it: the time of day for today,
// the date and time for earlier days.
std::string local_time(long long epoch_ms) {
    const std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
    const std::time_t now = std::time(nullptr);
    std::tm when{};
    std::tm today{};
    ::localtime_r(&seconds, &when);
    ::localtime_r(&now, &today);
    char text[32];
    const bool same_day = when.tm_year == today.tm_year && when.tm_yday == today.tm_yday;
    std::strftime(text, sizeof text, same_day ? "%H:%M:%S" : "%Y-%m-%d %H:%M", &when);
    return text;
}

// The history straight from the workspace's store, when no server runs to
// ask: the store is the source either way.
std::optional<nlohmann::json> read_store(const std::string& workspace, const nlohmann::json& params,
                                         const std::string& why) {
    auto state = util::state_directory(workspace);
    if (auto* failure = std::get_if<util::PathError>(&state)) {
        std::cerr << "switchboard: " << why << "; " << failure->message << '\n';
        return std::nullopt;
    }
    const auto file = std::get<std::filesystem::path>(state) / "deliveries.db";
    if (!std::filesystem::exists(file)) {
        std::cerr << "switchboard: " << why << ", and workspace \"" << workspace
                  << "\" has no delivery store yet (" << file.string() << ")\n";
        return std::nullopt;
    }
    auto opened = delivery::Store::open_read_only(file);
    if (auto* error = std::get_if<std::string>(&opened)) {
        std::cerr << "switchboard: " << *error << '\n';
        return std::nullopt;
    }
    auto& store = std::get<std::unique_ptr<delivery::Store>>(opened);
    const auto since =
        delivery::SystemClock::time_point(std::chrono::milliseconds(params.value("since", 0LL)));
    nlohmann::json deliveries = nlohmann::json::array();
    for (const auto& d : store->history(params.value("worker", ""), since)) {
        deliveries.push_back(delivery::history_entry(d));
    }
    return nlohmann::json{{"deliveries", deliveries}};
}

int run_history(const GlobalOptions& globals, const HistoryOptions& options) {
    nlohmann::json params = nlohmann::json::object();
    if (!options.worker.empty()) {
        params["worker"] = options.worker;
    }
    if (!options.since.empty()) {
        const auto window = util::parse_duration(options.since);
        if (!window) {
            std::cerr << "switchboard: --since: " << options.since
                      << " is not a duration; write it like 30m, 2h or 1d\n";
            return exit_usage;
        }
        const auto since = std::chrono::system_clock::now() - *window;
        params["since"] =
            std::chrono::duration_cast<std::chrono::milliseconds>(since.time_since_epoch()).count();
    }
    std::string error;
    const auto choice = choose_socket(globals, error);
    if (!choice) {
        std::cerr << "switchboard: " << error << '\n';
        return exit_failure;
    }
    std::optional<nlohmann::json> result;
    auto connected = client::ControlClient::connect(choice->path, choice->workspace);
    if (auto* client = std::get_if<client::ControlClient>(&connected)) {
        result = call(*client, "history", params);
    } else if (!choice->workspace.empty()) {
        result =
            read_store(choice->workspace, params, std::get<client::ClientError>(connected).message);
    } else {
        std::cerr << "switchboard: " << std::get<client::ClientError>(connected).message << '\n';
    }
    if (!result) {
        return exit_failure;
    }
    if (options.json) {
        std::cout << result->dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
        return exit_ok;
    }
    fmt::print("{:<10} {:<14} {:<14} {:<11} {:>9} {:>6}  {:<16}  {}\n", "ID", "FROM", "TO",
               "OUTCOME", "LATENCY", "TRIES", "FINISHED", "REASON");
    for (const auto& d : (*result)["deliveries"]) {
        std::string reason = d.value("reason", "");
        if (d.contains("reply_to")) {
            reason += fmt::format("{}reply {} to {}", reason.empty() ? "" : "; ",
                                  d["reply"].get<int>(), d["reply_to"].get<std::string>());
        }
        const std::string latency = d.contains("latency_ms")
                                        ? std::to_string(d["latency_ms"].get<long long>()) + " ms"
                                        : "-";
        fmt::print("{:<10} {:<14} {:<14} {:<11} {:>9} {:>6}  {:<16}  {}\n",
                   d["id"].get<std::string>(), d["from"].get<std::string>(),
                   d["to"].get<std::string>(), d["outcome"].get<std::string>(), latency,
                   d["attempts"].get<int>(), local_time(d["finished_at"].get<long long>()), reason);
    }
    return exit_ok;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<HistoryOptions>();
    command.add_option("WORKER", options->worker, "Only deliveries to this worker");
    command.add_option("--since", options->since,
                       "Only deliveries that finished within this DURATION (30m, 2h, 1d)");
    command.add_flag("--json", options->json, "Print the deliveries as JSON");
    command.footer("Lists finished deliveries, oldest first, from the delivery store: outcome "
                   "(verified, unverified or dropped), latency from injection to the outcome, "
                   "attempts and reason. The store keeps them for history_retention (7d by "
                   "default). When the workspace's server is not running, its store is read "
                   "directly. Exit status: 0, 1 when neither server nor store can be read, 2 "
                   "usage error.");
    return [&globals, options] { return run_history(globals, *options); };
}

} // namespace

extern const CommandSpec history_command;
const CommandSpec history_command{"history", "List finished deliveries with outcome and latency",
                                  &define};

} // namespace sb::cli
