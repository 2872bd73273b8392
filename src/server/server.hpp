#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <uv.h>

#include "server/attach.hpp"
#include "server/control.hpp"
#include "server/deliveries.hpp"
#include "server/events.hpp"
#include "server/hosted_attach.hpp"
#include "util/uv.hpp"
#include "worker/environment.hpp"
#include "worker/reaper.hpp"
#include "worker/worker.hpp"
#include "workspace/workspace.hpp"

namespace sb::server {

class Requests;

// One workspace's supervisor on one libuv loop: its workers, the reaper, the
// event bus, the control socket, and the signals that end or reload it.
class Server {
public:
    // `store_file` is the delivery store's database; empty keeps it in memory.
    Server(uv_loop_t* loop, workspace::Workspace workspace, worker::WorkerContext context,
           std::filesystem::path store_file);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Opens the delivery store (queueing again what it holds unfinished) and
    // the control socket (an error message when either cannot), installs
    // the signal handlers and starts every worker in the file's order.
    std::optional<std::string> start();
    // Stops every worker at once (each bounded by its stop_timeout, or by
    // `timeout` when given), then closes the socket and every handle so the
    // loop ends. `done` runs once the workers have stopped.
    void shutdown(std::optional<std::chrono::milliseconds> timeout = std::nullopt,
                  std::function<void()> done = {});
    // Re-reads the workspace file: starts added workers, stops removed ones,
    // restarts changed ones. The result says which; an invalid file changes
    // nothing and is returned as an error message (the diagnostics).
    struct ReloadResult {
        bool ok = false;
        std::string error;
        std::vector<std::string> added, removed, changed, unchanged;
    };
    ReloadResult reload();

    worker::Worker* find(std::string_view name);
    const std::vector<std::unique_ptr<worker::Worker>>& workers() const { return workers_; }
    const workspace::Workspace& workspace() const { return workspace_; }
    const worker::WorkerContext& context() const { return context_; }
    EventBus& events() { return events_; }
    Deliveries& deliveries() { return *deliveries_; }
    AttachHub& attach() { return *attach_; }
    // Null without a control socket.
    HostedAttaches* hosted_attaches() { return hosted_.get(); }
    bool shutting_down() const { return shutting_down_; }
    worker::Clock::time_point started_at() const { return started_at_; }

private:
    std::unique_ptr<worker::Worker> make_worker(const workspace::Worker& definition);
    void on_worker_event(worker::Worker& worker, const worker::WorkerEvent& event);
    void release_handles();
    void retire(std::unique_ptr<worker::Worker> worker);

    uv_loop_t* loop_;
    workspace::Workspace workspace_;
    worker::WorkerContext context_;
    std::filesystem::path store_file_;
    worker::Clock::time_point started_at_ = worker::Clock::now();
    EventBus events_;
    std::unique_ptr<AttachHub> attach_;
    std::unique_ptr<worker::Reaper> reaper_;
    std::unique_ptr<Deliveries> deliveries_;
    std::vector<std::unique_ptr<worker::Worker>> workers_;
    // Removed by a reload and still stopping.
    std::vector<std::unique_ptr<worker::Worker>> retiring_;
    std::unique_ptr<Requests> requests_;
    std::unique_ptr<ControlServer> control_;
    std::unique_ptr<HostedAttaches> hosted_;
    std::unique_ptr<util::Signal> sigint_;
    std::unique_ptr<util::Signal> sigterm_;
    std::unique_ptr<util::Signal> sighup_;
    std::unique_ptr<util::Timer> cleanup_timer_;
    std::unique_ptr<util::Timer> flush_timer_;
    bool shutting_down_ = false;
};

} // namespace sb::server
