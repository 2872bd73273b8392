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
    Dropped,    // evicted (queue_full), cancelled, max_attempts, expired
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
    // Steady time for latency; wall time for the store and history.
    Clock::time_point injected_at{};
    SystemClock::time_point injected_wall{};
    SystemClock::time_point finished_at{};
    long long latency_ms = -1;
    // Why it is typed again into a new worker process, when it is: it was
    // being typed when the server stopped (DESIGN's "store").
    std::string redelivery;

    // Where an echo-verified delivery is after its echo (issue 10's
    // lifecycle): "typed" (waiting to leave the composer; not an event),
    // then "submitted", "accepted", "stalled" (with state_reason) or
    // "cancelled"; empty when it is not followed. state_sequence counts the
    // delivery_state events of this delivery.
    std::string state;
    std::string state_reason;
    int state_sequence = 0;

    // Why it waits in the workspace's inbox (requested, worker_gone,
    // worker_removed); empty while it is not there. `to` is then the worker
    // it was meant for, if any.
    std::string inbox_reason;
    SystemClock::time_point inboxed_at{};
    // Dropped (reason expired) when it has not been typed by then (send
    // --ttl); zero for never.
    SystemClock::time_point expires_at{};
    // Set on a reply (send --reply-to): the delivery it answers, and which
    // reply to that one it is (1 for the first).
    std::string reply_to;
    int reply_number = 0;
    // A reply whose addressee is not a worker ends at once: "handed" to a
    // client waiting for it (send --wait-reply) or "kept" for the history.
    std::string client_reply;
    // How many replies it has had. Read from the store, never written back
    // from here: the store counts them (Store::commit_reply).
    int replies = 0;
};

// Ends a delivery as dropped, now, for `reason` (queue_full, cancelled,
// max_attempts, expired).
void mark_dropped(Delivery& delivery, std::string reason);

// Puts a delivery back to queued, as if never typed: no outcome, reason,
// latency or state after its echo (its attempts keep counting).
void mark_queued(Delivery& delivery);

// Milliseconds since 1970, as the store, the protocol and history keep time.
long long epoch_ms(SystemClock::time_point t);

// "verified", "unverified", "failed", "dropped" or "none".
std::string to_string(Outcome outcome);

// True when it has an expiry and `now` is past it.
bool expired(const Delivery& delivery, SystemClock::time_point now);

// The number in a delivery id ("d-42" -> 42); 0 for anything else.
std::uint64_t id_number(const std::string& id);

} // namespace sb::delivery
