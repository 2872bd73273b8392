#include "server/events.hpp"

#include <chrono>
#include <ctime>
#include <vector>

#include "util/log.hpp"

namespace sb::server {

namespace {

// Every event also goes to the server's log (DESIGN's "Events"), so what
// happened can be read after the in-memory window has moved on.
std::shared_ptr<spdlog::logger> logger() {
    static auto log = sb::log::get("events");
    return log;
}

} // namespace

std::string rfc3339_now() {
    const auto now = std::chrono::system_clock::now();
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    char buffer[40];
    const std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(buffer + n, sizeof buffer - n, ".%03dZ", static_cast<int>(ms % 1000));
    return buffer;
}

const nlohmann::json& EventBus::publish(const std::string& type, const std::string& worker,
                                        nlohmann::json fields) {
    nlohmann::json event = {{"seq", next_seq_++}, {"ts", rfc3339_now()}, {"type", type}};
    if (!worker.empty()) {
        event["worker"] = worker;
    }
    for (auto& [key, value] : fields.items()) {
        event[key] = std::move(value);
    }
    recent_.push_back(std::move(event));
    if (recent_.size() > capacity_) {
        recent_.pop_front();
    }
    const nlohmann::json& published = recent_.back();
    logger()->info("{}", published.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    // A subscriber may unsubscribe (or others) while being told; iterate a
    // snapshot of the tokens.
    std::vector<std::uint64_t> tokens;
    tokens.reserve(subscribers_.size());
    for (const auto& [token, subscriber] : subscribers_) {
        tokens.push_back(token);
    }
    for (const auto token : tokens) {
        if (auto it = subscribers_.find(token); it != subscribers_.end()) {
            it->second(published);
        }
    }
    return published;
}

std::uint64_t EventBus::subscribe(Subscriber subscriber) {
    const auto token = next_token_++;
    subscribers_.emplace(token, std::move(subscriber));
    return token;
}

void EventBus::unsubscribe(std::uint64_t token) {
    subscribers_.erase(token);
}

std::vector<nlohmann::json> EventBus::since(std::uint64_t after) const {
    std::vector<nlohmann::json> out;
    for (const auto& event : recent_) {
        if (event["seq"].get<std::uint64_t>() > after) {
            out.push_back(event);
        }
    }
    return out;
}

std::uint64_t EventBus::first_kept_seq() const {
    return recent_.empty() ? 0 : recent_.front()["seq"].get<std::uint64_t>();
}

} // namespace sb::server
