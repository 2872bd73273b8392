#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace sb::server {

// DESIGN's events: every state change is one JSON object with a monotonic
// `seq`, an RFC 3339 `ts` with milliseconds, a `type`, the `worker` (when it
// concerns one) and the type's fields. The last `capacity` are kept for
// `events --since`; subscribers get each new one as it is published.
class EventBus {
public:
    using Subscriber = std::function<void(const nlohmann::json& event)>;

    explicit EventBus(std::size_t capacity = 10000) : capacity_(capacity) {}

    const nlohmann::json& publish(const std::string& type, const std::string& worker,
                                  nlohmann::json fields = nlohmann::json::object());

    // Returns a token for unsubscribe.
    std::uint64_t subscribe(Subscriber subscriber);
    void unsubscribe(std::uint64_t token);

    // Kept events with seq > `after`, oldest first.
    std::vector<nlohmann::json> since(std::uint64_t after) const;
    std::uint64_t last_seq() const { return next_seq_ - 1; }
    // The oldest seq still kept (0 when none).
    std::uint64_t first_kept_seq() const;

private:
    std::size_t capacity_;
    std::uint64_t next_seq_ = 1;
    std::deque<nlohmann::json> recent_;
    std::uint64_t next_token_ = 1;
    std::map<std::uint64_t, Subscriber> subscribers_;
};

// Now as RFC 3339 UTC with milliseconds: 2026-11-22T03:14:15.926Z.
std::string rfc3339_now();

} // namespace sb::server
