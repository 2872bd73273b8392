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
    // The worker left the workspace: what waits for it is dropped.
    void remove(const std::string& worker);
    // A worker event happened (started, exited, stopped, failed).
    void on_worker_event(const std::string& worker, const std::string& type);

    struct SendRequest {
        std::string from;
        std::string target; // a worker, @group, or all
        std::string body;
        std::string key;
    };
    struct Sent {
        std::string id;
        std::string to;
        bool existing = false; // returned for a repeated idempotency key
    };
    struct SendError {
        std::string code;
        std::string message;
    };
    std::variant<std::vector<Sent>, SendError> send(const SendRequest& request);

    // Cancels a queued delivery: "" when done, else why not.
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
    delivery::Dispatcher* dispatcher(const std::string& worker);
    nlohmann::json pending(const std::string& worker) const;
    // Finished deliveries since `since`, for one worker or all ("").
    nlohmann::json history(const std::string& worker, delivery::SystemClock::time_point since);

    // Settings for a worker from its definition and profile.
    static delivery::Settings settings_for(const workspace::Worker& definition);

private:
    delivery::Journal journal();
    // The store failed: the event, the log, and a retry of what it kept.
    void store_failed(const std::string& error);
    void retry_store();
    void prune_history();

    uv_loop_t* loop_;
    Server& server_;
    std::uint64_t next_id_ = 1;
    std::unique_ptr<delivery::Store> store_;
    util::Timer retry_timer_;
    std::chrono::milliseconds retry_delay_{0};
    std::chrono::steady_clock::time_point last_prune_{};
    std::map<std::string, std::unique_ptr<delivery::Dispatcher>> dispatchers_;
};

// The most a message body may be, in bytes.
inline constexpr std::size_t default_max_body = 64 * 1024;

} // namespace sb::server
