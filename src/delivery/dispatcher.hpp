#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <uv.h>

#include "delivery/delivery.hpp"
#include "delivery/echo_verifier.hpp"
#include "delivery/profile.hpp"
#include "delivery/throttle.hpp"
#include "util/regex.hpp"
#include "util/uv.hpp"

namespace sb::term {
class Screen;
}

namespace sb::delivery {

struct Settings {
    Profile profile;
    int max_pending = 256;
    std::chrono::milliseconds idle{500};
    std::chrono::milliseconds verify_timeout{5000};
    std::chrono::milliseconds throttle_min{100};
    std::chrono::milliseconds throttle_max{5000};
    // A person's keystroke holds injection this long.
    std::chrono::milliseconds hold{3000};
    // Ready by timeout when the profile's ready pattern never shows.
    std::chrono::milliseconds ready_timeout{10000};
    int max_attempts = 5;
};

// What the dispatcher needs of its worker, as callbacks: delivery does not
// depend on the worker module (both sit on term and util).
struct WorkerPort {
    std::function<bool()> running;
    std::function<const term::Screen&()> screen;
    std::function<Clock::time_point()> last_output;
    std::function<Clock::time_point()> last_keystroke;
    // A person typed into the worker since they last pressed Enter there:
    // what sits in its composer may be their draft.
    std::function<bool()> person_draft;
    struct Segment {
        std::string bytes;
        std::chrono::milliseconds delay_before{0};
        // Written only once this returns true or wait_limit has passed.
        std::function<bool()> wait_for;
        std::chrono::milliseconds wait_limit{0};
    };
    std::function<void(std::vector<Segment>, std::function<void(bool written)>)> write_unit;
};

// Events the dispatcher reports: (type, fields) as DESIGN's events name them.
using EventSink = std::function<void(const std::string& type, nlohmann::json fields)>;

// Where the dispatcher saves what it does (DESIGN's "store"). An empty
// function saves nothing.
struct Journal {
    // Saves a change before it happens (a delivery is typed, a cancel is
    // done); false when it could not be saved, and then it must not happen.
    std::function<bool(const Delivery&)> commit;
    // Saves a change that has happened (an outcome, an eviction).
    std::function<void(const Delivery&)> record;
};

enum class CancelResult { Cancelled, NotQueued, NotSaved };

// Where a delivery followed past its echo is (DESIGN's "Delivery"; issue
// 10's lifecycle): its text in the composer waiting to leave it, submitted
// and waiting for the agent to show it took it, or stalled (by reason).
enum class Phase { Submitting, Accepting, Stalled };

struct Followed {
    Delivery delivery;
    Phase phase = Phase::Submitting;
    // When the phase runs out (submit_timeout or accept_timeout).
    Clock::time_point deadline{};
    // When it was submitted (output after that counts as taken).
    Clock::time_point submitted_at{};
    // The submit key pressed again by switchboard (at most twice).
    int presses = 0;
    // What shows it in the composer: its header, or its first line.
    std::string needle;
    // Whether its text still sits in the composer.
    bool in_composer() const {
        return phase == Phase::Submitting ||
               (phase == Phase::Stalled && delivery.state_reason != "not_accepted");
    }
};

// The delivery engine of one worker: its queue, gate, injection, echo
// verification and throttle (DESIGN's "Delivery").
class Dispatcher {
public:
    Dispatcher(uv_loop_t* loop, std::string worker, Settings settings, WorkerPort port,
               EventSink events, Journal journal = {});
    ~Dispatcher();
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    // Queues a delivery (sanitized and saved already). At capacity the
    // oldest queued one is evicted with delivery_dropped {reason:
    // queue_full}. `restored` marks one loaded from the store at start.
    void enqueue(Delivery delivery, bool restored = false);
    // When `incoming` would be typed at once if it were enqueued now
    // (nothing queued or in flight, and the gate open): the
    // delivery as the store must have it before it is typed (injecting,
    // its attempt counted). A sender saves that with the send, in one
    // transaction, and hands it to enqueue_typed(), which types it without
    // a commit of its own.
    std::optional<Delivery> typed_at_once(const Delivery& incoming);
    // Queues and types at once a delivery that typed_at_once() returned and
    // the store has since saved (delivery_queued, then delivery_injected).
    void enqueue_typed(Delivery injecting);
    // The queued deliveries that enqueueing `incoming` more would evict,
    // marked dropped (so a sender can save the evictions with its send).
    std::vector<Delivery> evictions(std::size_t incoming) const;
    // Removes a queued delivery (delivery_dropped {reason}) once the store
    // has it; not when it is not queued (unknown, or already being typed).
    CancelResult cancel(const std::string& id, const std::string& reason = "cancelled");
    // Takes every queued delivery (not the one in flight) out of the
    // queue, without an event or a store write: the caller saves where
    // they go (the inbox).
    std::deque<Delivery> take_queued();
    // Presses the submit key for a delivery followed past its echo (stalled,
    // or not yet submitted or accepted), and follows it again; false when
    // `id` is not one.
    bool nudge(const std::string& id);
    // Delivery `id` was answered (send --reply-to), its delivery_state
    // count is now `sequence` and its state "replied" (the store has
    // both): it is no longer followed, and no copy here writes an older
    // count over it.
    void on_replied(const std::string& id, int sequence);
    // The server is stopping, or the worker is removed (`why`, for the
    // log): a delivery being typed, or typed and not yet submitted, goes
    // back to the queue (and the store), to be typed into the worker's next
    // process or handed to the inbox with the rest of the queue.
    void shutdown(std::string_view why = "the server is stopping");

    void hold();
    void release();
    bool held() const { return held_; }

    // The worker printed something: look for the echo, re-check the gate.
    void on_output();
    // The worker started a new run (not ready until its profile says so) or
    // stopped running (an injection in flight fails).
    void on_worker_started();
    void on_worker_stopped();

    void set_settings(Settings settings);
    const Settings& settings() const { return settings_; }
    bool ready() const { return ready_; }
    std::size_t depth() const { return queue_.size() + (in_flight_ ? 1 : 0); }
    const std::deque<Delivery>& queued() const { return queue_; }
    const std::optional<Delivery>& in_flight() const { return in_flight_; }
    const std::deque<Followed>& followed() const { return followed_; }
    std::size_t stalled() const;
    const Throttle& throttle() const { return throttle_; }
    // Why nothing is being injected now ("" when a delivery is in flight or
    // nothing waits).
    std::string waiting_for() const;

private:
    // Why nothing may be typed now ("" when the gate is open), and when to
    // look again if that is known.
    struct Gate {
        std::string waiting_for;
        std::optional<Clock::time_point> open_at;
    };
    Gate gate(Clock::time_point now) const;
    static nlohmann::json queued_fields(const Delivery& delivery, bool restored);
    // A delivery as it is saved before it is typed.
    static Delivery injecting(Delivery delivery);
    // Types a delivery the store has as injecting, and verifies its echo.
    void type(Delivery delivery);
    void pump();
    void schedule(Clock::time_point when);
    void inject();
    void on_written(bool ok);
    void finish(Outcome outcome, const std::string& reason);
    void drop(Delivery& delivery, const std::string& reason);
    bool busy() const;
    void check_ready();
    // Moves followed deliveries on (submitted, accepted, stalled), presses
    // submit again when one sits in the composer too long.
    void follow_up();
    // A state of a followed delivery: its event, and unless `save` is false
    // (a state the next one replaces at once) the store.
    void set_state(Followed& followed, const std::string& state, const std::string& reason = "",
                   bool save = true);
    void press_submit();
    // Why the composer cannot take a message now: "" when it can.
    std::string composer_busy() const;
    // Puts a delivery that did not reach the agent back at the front of the
    // queue (delivery_failed), or drops it after max_attempts.
    void requeue(Delivery delivery, const std::string& reason);

    uv_loop_t* loop_;
    std::string worker_;
    Settings settings_;
    WorkerPort port_;
    EventSink events_;
    Journal journal_;
    Throttle throttle_;
    std::optional<util::Regex> ready_pattern_;
    std::optional<util::Regex> busy_pattern_;
    std::optional<util::Regex> composer_pattern_;
    std::optional<util::Regex> placeholder_pattern_;
    // Whether the screen showed the busy pattern when it was last looked at,
    // and the screen's generation then: a screen that has not changed is not
    // searched again (the search is a regex over every row, asked for on
    // every output and every pump). Forgotten when the worker starts or
    // stops (a new run has a new screen) and when the settings change.
    struct Shown {
        const term::Screen* screen = nullptr;
        std::uint64_t generation = 0;
        bool shows = false;
    };
    mutable std::optional<Shown> busy_shown_;
    // Each row's text when the busy pattern was last searched in it, and
    // whether it matched: a changed screen is searched again only in the
    // rows that changed (most outputs change one or two).
    struct RowShown {
        std::string text;
        bool shows = false;
    };
    mutable std::vector<std::optional<RowShown>> busy_rows_;
    bool shows_busy_pattern() const;
    std::deque<Followed> followed_;
    std::deque<Delivery> queue_;
    std::optional<Delivery> in_flight_;
    std::optional<EchoVerifier> verifier_;
    bool held_ = false;
    bool stopping_ = false;
    bool ready_ = false;
    bool running_ = false;
    Clock::time_point run_started_{};
    Clock::time_point last_finished_{};
    Clock::time_point verify_deadline_{};
    std::string waiting_for_;
    util::Timer timer_;
    Clock::time_point timer_at_{};
    // Injections the store refused in a row (backs off the retries).
    int store_failures_ = 0;
    // Callbacks left with the worker (a pending write) check this before
    // touching a dispatcher that may be gone.
    std::shared_ptr<int> lifetime_ = std::make_shared<int>(0);
};

} // namespace sb::delivery
