#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>
#include <uv.h>

#include "delivery/dispatcher.hpp"
#include "delivery/store.hpp"
#include "server/events.hpp"
#include "util/uv.hpp"
#include "worker/worker.hpp"
#include "workspace/workspace.hpp"

namespace sb::server {

class Server;

// The messages of a workspace: one delivery dispatcher per worker (which
// outlives the worker's runs, so a message for a stopped worker waits), the
// store that keeps every delivery (ids and idempotency keys included) across
// restarts, and the retries of what the store could not save.
class Deliveries {
public:
    Deliveries(uv_loop_t* loop, Server& server);
    ~Deliveries();

    // Opens the store (":memory:" when `file` is empty), prunes the history
    // and queues every unfinished delivery again for its worker. The reason
    // when the store is refused.
    std::optional<std::string> open_store(const std::filesystem::path& file);

    // Ties a worker to its dispatcher (creating one for a new name, updating
    // the settings of a known one).
    void attach(worker::Worker& worker, const workspace::Worker& definition);
    // The worker left the workspace: what waits for it goes to the inbox
    // (reason worker_removed).
    void remove(const std::string& worker);
    // A worker event happened (started, exited, stopped, failed).
    void on_worker_event(const std::string& worker, const std::string& type);

    struct SendRequest {
        std::string from;
        std::string target; // a worker, @group, or all; may be empty with these:
        std::string body;
        std::string key;
        // Straight to the inbox (send --to-inbox); `target`, if given, is
        // kept as the worker it was meant for.
        bool to_inbox = false;
        // A reply to this delivery, for its sender (send --reply-to).
        std::string reply_to;
        // Dropped with reason expired when not typed within this.
        std::optional<std::chrono::milliseconds> ttl;
    };
    struct Sent {
        std::string id;
        std::string to;
        bool existing = false;  // returned for a repeated idempotency key
        std::string inboxed;    // the reason, when it went to the inbox
        int reply = 0;          // which reply to reply_to it is
        bool to_client = false; // a reply for a sender that is not a worker
    };
    struct SendError {
        std::string code;
        std::string message;
    };
    std::variant<std::vector<Sent>, SendError> send(const SendRequest& request);

    // Cancels a queued delivery or one in the inbox: nothing when done,
    // else why not.
    struct CancelError {
        std::string code;
        std::string message;
    };
    std::optional<CancelError> cancel(const std::string& id);
    // Presses submit for a delivery followed past its echo: "" when done,
    // else why not.
    std::optional<CancelError> nudge(const std::string& id);
    // The server is stopping: what is being typed goes back to the queue.
    void shutdown();

    // The workspace's inbox, oldest first (switchboard-protocol(7)).
    nlohmann::json inbox() const;
    // Gives an inbox entry to a worker; it leaves the inbox only once the
    // store has it in the worker's queue. The error leaves it where it was.
    std::optional<CancelError> dispatch(const std::string& id, const std::string& worker);

    // The first reply to delivery `id` when it has one; otherwise nothing,
    // and `waiter` gets the reply when it comes (until cancel_wait(token)).
    // An error for an id the store does not have.
    struct ReplyWait {
        std::optional<delivery::Delivery> reply;
        std::uint64_t token = 0;
    };
    std::variant<ReplyWait, CancelError>
    wait_reply(const std::string& id, std::function<void(const delivery::Delivery&)> waiter);
    void cancel_wait(std::uint64_t token);
    delivery::Dispatcher* dispatcher(const std::string& worker);
    nlohmann::json pending(const std::string& worker) const;
    // Finished deliveries since `since`, for one worker or all ("").
    nlohmann::json history(const std::string& worker, delivery::SystemClock::time_point since);

    // Settings for a worker from its definition and profile.
    static delivery::Settings settings_for(const workspace::Worker& definition);

private:
    delivery::Journal journal();
    // A delivery event: published now, or held until the end of the loop's
    // turn when a change it may tell of waits in the store's stage; held
    // events keep their order.
    void publish(const std::string& type, const std::string& worker,
                 nlohmann::json fields = nlohmann::json::object());
    // The end of a turn of the loop in which changes were staged: they are
    // saved in one transaction, then the events held for them published.
    void end_turn();
    // The store failed: the event, the log, and a retry of what it kept.
    void store_failed(const std::string& error);
    void retry_store();
    void prune_history();
    // A worker that ended and will not be started again (exited and not
    // restarting, or failed by a crash loop) is gone.
    bool gone(const std::string& worker) const;
    // Moves what waits for gone workers to the inbox (on the next loop
    // turn: an exit is known before the restart policy has decided).
    void schedule_gone_check();
    void move_gone();
    // Puts deliveries (taken from their queue) into the inbox with
    // `reason`, saved in one transaction when possible.
    void to_inbox(std::vector<delivery::Delivery> moved, const std::string& reason);
    // Arms the one expiry timer for `at` when that is sooner than it is
    // armed for; expire() drops what is past its time to live and arms the
    // timer for the next.
    void arm_expiry(delivery::SystemClock::time_point at);
    void expire();
    // delivery_state for one delivery: its state and per-delivery sequence.
    void emit_state(const std::string& worker, const std::string& id, const std::string& state,
                    long long sequence, nlohmann::json fields = nlohmann::json::object());
    std::variant<std::vector<Sent>, SendError> send_reply(const SendRequest& request);
    // The inbox_full error when `incoming` more would not fit.
    std::optional<SendError> inbox_refuses(std::size_t incoming) const;
    // Puts a saved delivery where it goes: its worker's queue or the inbox.
    void place(delivery::Delivery d);

    uv_loop_t* loop_;
    Server& server_;
    std::uint64_t next_id_ = 1;
    std::unique_ptr<delivery::Store> store_;
    util::Timer retry_timer_;
    std::chrono::milliseconds retry_delay_{0};
    std::chrono::steady_clock::time_point last_prune_{};
    std::map<std::string, std::unique_ptr<delivery::Dispatcher>> dispatchers_;
    // Messages no worker takes (DESIGN's inbox), oldest first.
    std::vector<delivery::Delivery> inbox_;
    util::Timer gone_timer_;
    util::Timer expiry_timer_;
    delivery::SystemClock::time_point expiry_at_{};
    // Clients waiting for a reply (send --wait-reply), by the delivery id
    // they wait on.
    struct Waiter {
        std::string id;
        std::function<void(const delivery::Delivery&)> callback;
    };
    std::map<std::uint64_t, Waiter> waiters_;
    std::uint64_t next_waiter_ = 1;
    // Outcomes and states of a turn are staged and saved together at its
    // end (DESIGN's "store"); their events wait for that save.
    struct HeldEvent {
        std::string type;
        std::string worker;
        nlohmann::json fields;
    };
    std::vector<HeldEvent> held_;
    // Something was staged in this turn.
    bool staged_ = false;
    util::TurnEnd turn_end_;
};

// The most a message body may be, in bytes.
inline constexpr std::size_t default_max_body = 64 * 1024;

} // namespace sb::server
