#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace sb::delivery {

using Clock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;

// Where a delivery is in its life. DESIGN's "Delivery": queued, then
// injecting (its bytes are being written), then verifying (written, echo
// awaited), then an outcome.
enum class Stage { Queued, Injecting, Verifying, Done };

// How a delivery ended.
enum class Outcome {
    None,
    Verified,   // echo seen on the screen model
    Unverified, // delivery_verified with verification "timeout_fallback"
    Failed,     // write error or worker gone; retried up to max attempts
    Dropped,    // evicted (queue_full), cancelled, worker_removed, max_attempts
};

// One message for one worker.
struct Delivery {
    std::string id; // "d-42"
    std::string from;
    std::string to;
    std::string body; // sanitized
    std::string key;  // idempotency key, may be empty
    SystemClock::time_point created_at{};
    int attempts = 0;
    // Bytes the sanitizer removed from the body as sent.
    std::size_t removed_bytes = 0;

    Stage stage = Stage::Queued;
    Outcome outcome = Outcome::None;
    std::string reason;
    Clock::time_point injected_at{};
};

} // namespace sb::delivery
