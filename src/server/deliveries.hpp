#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>
#include <uv.h>

#include "delivery/dispatcher.hpp"
#include "server/events.hpp"
#include "worker/worker.hpp"
#include "workspace/workspace.hpp"

namespace sb::server {

class Server;

// The messages of a workspace: one delivery dispatcher per worker (which
// outlives the worker's runs, so a message for a stopped worker waits), the
// delivery ids, and the idempotency keys of `send --key`.
class Deliveries {
public:
    Deliveries(uv_loop_t* loop, Server& server);

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

    bool cancel(const std::string& id);
    delivery::Dispatcher* dispatcher(const std::string& worker);
    nlohmann::json pending(const std::string& worker) const;

    // Settings for a worker from its definition and profile.
    static delivery::Settings settings_for(const workspace::Worker& definition);

private:
    uv_loop_t* loop_;
    Server& server_;
    std::uint64_t next_id_ = 1;
    std::map<std::string, std::unique_ptr<delivery::Dispatcher>> dispatchers_;
    struct KeyRecord {
        std::vector<Sent> sent;
        std::chrono::steady_clock::time_point at;
    };
    std::map<std::string, KeyRecord> keys_;
};

// The most a message body may be, in bytes.
inline constexpr std::size_t default_max_body = 64 * 1024;

} // namespace sb::server
