#include "server/server.hpp"

#include <signal.h>

#include "server/requests.hpp"
#include "util/log.hpp"
#include "workspace/load.hpp"

namespace sb::server {

namespace {

std::shared_ptr<spdlog::logger> logger() {
    static auto log = sb::log::get("server");
    return log;
}

// How long clients get to read their last responses after a shutdown before
// their connections are closed regardless.
constexpr std::chrono::milliseconds client_flush_grace{2000};

} // namespace

Server::Server(uv_loop_t* loop, workspace::Workspace workspace, worker::WorkerContext context,
               std::filesystem::path store_file)
    : loop_(loop), workspace_(std::move(workspace)), context_(std::move(context)),
      store_file_(std::move(store_file)), attach_(std::make_unique<AttachHub>(loop, *this)),
      reaper_(std::make_unique<worker::Reaper>(loop)),
      deliveries_(std::make_unique<Deliveries>(loop, *this)),
      requests_(std::make_unique<Requests>(*this)),
      cleanup_timer_(std::make_unique<util::Timer>(loop)),
      flush_timer_(std::make_unique<util::Timer>(loop)) {
    for (const auto& definition : workspace_.workers) {
        workers_.push_back(make_worker(definition));
        deliveries_->attach(*workers_.back(), definition);
    }
}

Server::~Server() {
    // Sessions on clients' terminals are local clients of the socket's.
    hosted_.reset();
    control_.reset();
    attach_.reset();
    // Workers first: their destructors kill what is still running.
    deliveries_.reset();
    workers_.clear();
    retiring_.clear();
    release_handles();
}

std::unique_ptr<worker::Worker> Server::make_worker(const workspace::Worker& definition) {
    worker::WorkerConfig config{
        .name = definition.name,
        .spawn = worker::spawn_spec(definition, context_, worker::server_environment()),
        .size = definition.settings.size,
        .scrollback = definition.settings.scrollback,
        .restart = definition.settings.restart,
        .stop_timeout = definition.settings.stop_timeout,
    };
    auto made = std::make_unique<worker::Worker>(
        loop_, *reaper_, std::move(config),
        [this](worker::Worker& w, const worker::WorkerEvent& e) { on_worker_event(w, e); });
    made->set_screen_listener([this, w = made.get()] {
        if (attach_) {
            attach_->on_screen_changed(*w);
        }
    });
    return made;
}

std::optional<std::string> Server::start() {
    if (auto error = deliveries_->open_store(store_file_)) {
        return error;
    }
    if (!context_.socket_path.empty()) {
        control_ = std::make_unique<ControlServer>(
            loop_, context_.socket_path,
            [this](const std::shared_ptr<Connection>& connection, const nlohmann::json& request) {
                requests_->handle(connection, request);
            });
        if (auto error = control_->listen()) {
            control_.reset();
            return error;
        }
        hosted_ = std::make_unique<HostedAttaches>(
            loop_, *control_,
            [this](const std::shared_ptr<Connection>& connection, const nlohmann::json& request) {
                requests_->handle(connection, request);
            },
            [this](const std::shared_ptr<Connection>& connection, const std::string& worker,
                   std::string_view bytes, bool keystroke) -> std::optional<std::string> {
                if (auto error =
                        requests_->write_input(connection->id(), worker, bytes, keystroke)) {
                    return error->message;
                }
                return std::nullopt;
            });
    }
    const auto on_signal = [this](const char* name) {
        if (shutting_down_) {
            logger()->info("{} again; still stopping workers", name);
            return;
        }
        logger()->info("{}: stopping {} workers", name, workers_.size());
        shutdown();
    };
    sigint_ = std::make_unique<util::Signal>(loop_);
    sigterm_ = std::make_unique<util::Signal>(loop_);
    sighup_ = std::make_unique<util::Signal>(loop_);
    sigint_->start(SIGINT, [on_signal] { on_signal("SIGINT"); });
    sigterm_->start(SIGTERM, [on_signal] { on_signal("SIGTERM"); });
    sighup_->start(SIGHUP, [this] {
        logger()->info("SIGHUP: reloading {}", workspace_.file.string());
        const auto result = reload();
        if (!result.ok) {
            logger()->error("reload refused; the workspace runs as it was:\n{}", result.error);
        }
    });

    events_.publish(
        "server_started", "",
        {{"pid", ::getpid()}, {"workspace", workspace_.name}, {"socket", context_.socket_path}});
    logger()->info("workspace \"{}\": starting {} workers", workspace_.name, workers_.size());
    for (auto& worker : workers_) {
        worker->start();
    }
    return std::nullopt;
}

void Server::shutdown(std::optional<std::chrono::milliseconds> timeout,
                      std::function<void()> done) {
    if (shutting_down_) {
        return;
    }
    shutting_down_ = true;
    events_.publish("server_stopping", "", {});
    // Before any worker stops: nothing is typed from now on, and what was
    // being typed goes back to the queue in the store.
    deliveries_->shutdown();
    auto remaining = std::make_shared<std::size_t>(workers_.size() + retiring_.size());
    auto finish = [this, done = std::move(done)] {
        logger()->info("workspace \"{}\": all workers stopped", workspace_.name);
        if (done) {
            done();
        }
        release_handles();
    };
    auto finished = std::make_shared<std::function<void()>>(std::move(finish));
    if (*remaining == 0) {
        (*finished)();
        return;
    }
    const auto stop_one = [&](worker::Worker& worker) {
        worker.stop(
            [remaining, finished] {
                if (--*remaining == 0) {
                    (*finished)();
                }
            },
            timeout);
    };
    for (auto& worker : workers_) {
        stop_one(*worker);
    }
    for (auto& worker : retiring_) {
        stop_one(*worker);
    }
}

Server::ReloadResult Server::reload() {
    ReloadResult result;
    if (shutting_down_) {
        result.error = "the server is shutting down";
        return result;
    }
    auto loaded = workspace::load_file(workspace_.file);
    if (!loaded.workspace) {
        std::vector<std::string> lines;
        for (const auto& d : loaded.diagnostics.all()) {
            lines.push_back(d.to_string());
        }
        for (const auto& line : lines) {
            result.error += (result.error.empty() ? "" : "\n") + line;
        }
        return result;
    }
    workspace::Workspace next = std::move(*loaded.workspace);
    if (next.name != workspace_.name) {
        result.error = workspace_.file.string() + ": the workspace name changed from \"" +
                       workspace_.name + "\" to \"" + next.name +
                       "\"; a running workspace cannot be renamed (run `switchboard down`, then "
                       "`switchboard up`)";
        return result;
    }

    // The new list is settled first and only then are workers started and
    // stopped: a stop or start can report an exit at once (the reaper
    // collects every child it finds ended), and those callbacks must see
    // the workspace as it now is.
    std::vector<std::unique_ptr<worker::Worker>> kept;
    std::vector<worker::Worker*> to_start;
    std::vector<std::pair<worker::Worker*, worker::Worker*>> to_replace; // old, new
    std::vector<worker::Worker*> to_stop;
    for (const auto& definition : next.workers) {
        const workspace::Worker* before = workspace_.find_worker(definition.name);
        auto existing = std::find_if(workers_.begin(), workers_.end(), [&](const auto& w) {
            return w && w->name() == definition.name;
        });
        if (before == nullptr || existing == workers_.end()) {
            result.added.push_back(definition.name);
            kept.push_back(make_worker(definition));
            deliveries_->attach(*kept.back(), definition);
            to_start.push_back(kept.back().get());
            continue;
        }
        if (*before == definition) {
            result.unchanged.push_back(definition.name);
            kept.push_back(std::move(*existing));
            continue;
        }
        result.changed.push_back(definition.name);
        // The old run ends by its old rules; the new definition starts
        // once it has.
        worker::Worker* old = existing->get();
        // The queue stays with the name; the ending run no longer feeds it.
        old->set_output_listener(nullptr);
        old->set_screen_listener(nullptr);
        retire(std::move(*existing));
        kept.push_back(make_worker(definition));
        deliveries_->attach(*kept.back(), definition);
        to_replace.emplace_back(old, kept.back().get());
    }
    for (auto& old : workers_) {
        if (old) {
            result.removed.push_back(old->name());
            deliveries_->remove(old->name());
            to_stop.push_back(old.get());
            retire(std::move(old));
        }
    }
    workers_ = std::move(kept);
    workspace_ = std::move(next);

    for (auto* w : to_start) {
        w->start();
    }
    for (auto [old, fresh] : to_replace) {
        old->stop([this, fresh] {
            for (const auto& w : workers_) {
                if (w.get() == fresh && !shutting_down_) {
                    fresh->start();
                }
            }
        });
    }
    for (auto* w : to_stop) {
        w->stop();
    }
    events_.publish(
        "workspace_reloaded", "",
        {{"added", result.added}, {"removed", result.removed}, {"changed", result.changed}});
    logger()->info("reloaded: {} added, {} removed, {} changed, {} unchanged", result.added.size(),
                   result.removed.size(), result.changed.size(), result.unchanged.size());
    result.ok = true;
    return result;
}

void Server::retire(std::unique_ptr<worker::Worker> worker) {
    retiring_.push_back(std::move(worker));
}

worker::Worker* Server::find(std::string_view name) {
    for (auto& worker : workers_) {
        // Empty while a reload moves workers between lists.
        if (worker && worker->name() == name) {
            return worker.get();
        }
    }
    return nullptr;
}

void Server::on_worker_event(worker::Worker& worker, const worker::WorkerEvent& event) {
    events_.publish(event.type, worker.name(), event.fields);
    // Only the worker that now has the name drives its queue; a replaced
    // run that is still ending does not.
    if (find(worker.name()) == &worker && deliveries_) {
        deliveries_->on_worker_event(worker.name(), event.type);
    }
    // A retired worker that has ended is freed on the next loop turn (not
    // inside its own callback).
    if (!retiring_.empty() && (event.type == "worker_stopped" || event.type == "worker_exited" ||
                               event.type == "worker_failed")) {
        cleanup_timer_->start(std::chrono::milliseconds(0), [this] {
            std::erase_if(retiring_, [](const auto& w) { return w->finished(); });
        });
    }
}

void Server::release_handles() {
    sigint_.reset();
    sigterm_.reset();
    sighup_.reset();
    if (hosted_) {
        // The terminals go back to their clients before their connections close.
        hosted_->end_all("[server exited]");
    }
    if (control_) {
        control_->close();
        // On a later turn of the loop: this may run inside a request of a
        // session on a client's terminal (its `down`).
        const auto close_control = [this] {
            hosted_.reset();
            control_.reset();
        };
        if (control_->connection_count() == 0) {
            flush_timer_->start(std::chrono::milliseconds(0), close_control);
        } else {
            // Clients get a moment to read their last responses; one that
            // does not read is cut off when the grace ends.
            flush_timer_->start(client_flush_grace, close_control);
            control_->on_drained([this, close_control] {
                flush_timer_->start(std::chrono::milliseconds(0), close_control);
            });
        }
    }
    bool all_ended = true;
    for (const auto& worker : workers_) {
        if (!worker->finished()) {
            all_ended = false;
        }
    }
    if (all_ended) {
        reaper_->stop();
    }
}

} // namespace sb::server
