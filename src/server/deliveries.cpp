#include "server/deliveries.hpp"

#include <algorithm>
#include <optional>

#include "delivery/sanitize.hpp"
#include "protocol/protocol.hpp"
#include "server/server.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace sb::server {

namespace {

std::shared_ptr<spdlog::logger> logger() {
    static auto log = sb::log::get("deliveries");
    return log;
}

// How long `send --key` remembers a key.
constexpr std::chrono::hours key_lifetime{24};

// Retries of what the store could not save back off to this.
constexpr std::chrono::milliseconds max_retry_delay{5000};

// The history is pruned at most this often (when deliveries finish, so an
// idle server never wakes up for it).
constexpr std::chrono::hours prune_interval{1};

nlohmann::json delivery_json(const delivery::Delivery& d, const std::string& stage) {
    return {{"id", d.id},
            {"from", d.from},
            {"to", d.to},
            {"bytes", d.body.size()},
            {"attempts", d.attempts},
            {"stage", stage},
            {"created_at", delivery::epoch_ms(d.created_at)},
            {"preview", delivery::preview(d.body)}};
}

} // namespace

Deliveries::Deliveries(uv_loop_t* loop, Server& server)
    : loop_(loop), server_(server), retry_timer_(loop) {}

Deliveries::~Deliveries() {
    // Dispatchers go first: nothing may record into a closed store.
    dispatchers_.clear();
    if (store_ && store_->dirty()) {
        if (auto error = store_->flush()) {
            logger()->error("{}; these outcomes are lost, and their deliveries will be typed "
                            "again after a restart",
                            *error);
        }
    }
}

std::optional<std::string> Deliveries::open_store(const std::filesystem::path& file) {
    const auto& workspace = server_.workspace();
    const auto durability = workspace.store.durability == "power" ? delivery::Durability::Power
                                                                  : delivery::Durability::Process;
    auto opened = delivery::Store::open(file.empty() ? ":memory:" : file, durability);
    if (auto* error = std::get_if<std::string>(&opened)) {
        return *error;
    }
    store_ = std::move(std::get<std::unique_ptr<delivery::Store>>(opened));
    next_id_ = store_->last_id() + 1;
    prune_history();

    // What was accepted and never finished is queued again, in its order.
    std::size_t restored = 0;
    std::size_t redelivered = 0;
    for (auto& d : store_->unfinished()) {
        auto* dispatcher = this->dispatcher(d.to);
        if (dispatcher == nullptr) {
            delivery::mark_dropped(d, "worker_removed");
            if (auto error = store_->record(d)) {
                store_failed(*error);
            }
            server_.events().publish(
                "delivery_dropped", d.to,
                {{"id", d.id}, {"from", d.from}, {"reason", "worker_removed"}});
            continue;
        }
        if (d.stage == delivery::Stage::Injecting) {
            // Typed (maybe in part) into a worker process that ended with the
            // server: the new process has never seen it.
            d.redelivery = "the server stopped while it was being typed or verified; the worker "
                           "process it went to ended with the server";
            ++redelivered;
        } else if (d.outcome != delivery::Outcome::None) {
            // Its echo was seen, but it never left the composer of a process
            // that ended with the server.
            d.redelivery = "the server stopped before the worker submitted it; the worker "
                           "process it was typed into ended with the server";
            d.outcome = delivery::Outcome::None;
            d.reason.clear();
            d.latency_ms = -1;
            d.finished_at = {};
            d.state.clear();
            d.state_reason.clear();
            ++redelivered;
        }
        d.stage = delivery::Stage::Queued;
        dispatcher->enqueue(std::move(d), true);
        ++restored;
    }
    logger()->info("store {} ({}): {} unfinished deliveries queued again, {} of them redelivered",
                   store_->file().string(), delivery::to_string(durability), restored, redelivered);
    return std::nullopt;
}

delivery::Journal Deliveries::journal() {
    return {
        .commit =
            [this](const delivery::Delivery& d) {
                if (!store_) {
                    return true;
                }
                if (auto error = store_->commit({}, {d})) {
                    store_failed(*error);
                    return false;
                }
                return true;
            },
        .record =
            [this](const delivery::Delivery& d) {
                if (!store_) {
                    return;
                }
                if (auto error = store_->record(d)) {
                    store_failed(*error);
                } else if (d.outcome != delivery::Outcome::None) {
                    prune_history();
                }
            },
    };
}

void Deliveries::store_failed(const std::string& error) {
    logger()->error("{}", error);
    server_.events().publish("store_error", "", {{"error", error}});
    if (store_ && store_->dirty() && !retry_timer_.active()) {
        retry_delay_ =
            std::clamp(retry_delay_ * 2, std::chrono::milliseconds(100), max_retry_delay);
        retry_timer_.start(retry_delay_, [this] { retry_store(); });
    }
}

void Deliveries::retry_store() {
    if (!store_ || !store_->dirty()) {
        return;
    }
    if (auto error = store_->flush()) {
        store_failed(*error);
        return;
    }
    retry_delay_ = std::chrono::milliseconds(0);
    logger()->info("the store has caught up");
    server_.events().publish("store_recovered", "", {});
}

void Deliveries::prune_history() {
    const auto now = std::chrono::steady_clock::now();
    if (!store_ ||
        (last_prune_.time_since_epoch().count() != 0 && now - last_prune_ < prune_interval)) {
        return;
    }
    last_prune_ = now;
    const auto before = delivery::SystemClock::now() - server_.workspace().store.history_retention;
    if (auto error = store_->prune(before)) {
        logger()->warn("{}", *error);
    }
}

delivery::Settings Deliveries::settings_for(const workspace::Worker& definition) {
    const auto& s = definition.settings;
    delivery::Settings settings;
    settings.profile =
        delivery::builtin_profile(s.profile).value_or(*delivery::builtin_profile("generic"));
    // Each profile field the workspace sets replaces the profile's own.
    const auto& d = s.delivery;
    auto& profile = settings.profile;
    if (d.enter_delay) {
        profile.enter_delay = *d.enter_delay;
    }
    if (d.body_delay) {
        profile.body_delay = *d.body_delay;
    }
    if (d.ready_pattern) {
        profile.ready_pattern = *d.ready_pattern;
    }
    if (d.busy_pattern) {
        profile.busy_pattern = *d.busy_pattern;
    }
    if (d.placeholder_pattern) {
        profile.placeholder_pattern = *d.placeholder_pattern;
    }
    if (d.composer_pattern) {
        profile.composer_pattern = *d.composer_pattern;
    }
    if (d.submit_timeout) {
        profile.submit_timeout = *d.submit_timeout;
    }
    if (d.accept_timeout) {
        profile.accept_timeout = *d.accept_timeout;
    }
    if (d.submit_key) {
        if (const auto bytes = workspace::submit_key_bytes(*d.submit_key); !bytes.empty()) {
            profile.submit_key = std::string(bytes);
        }
    }
    if (d.paste) {
        profile.paste = *d.paste;
    }
    if (d.header) {
        profile.header = *d.header;
    }
    if (d.queues_input) {
        profile.queues_input = *d.queues_input;
    }
    if (d.wait_for_echo) {
        profile.wait_for_echo = *d.wait_for_echo;
    }
    settings.max_pending = s.delivery.max_pending;
    settings.idle = s.delivery.idle;
    settings.verify_timeout = s.delivery.verify_timeout;
    settings.throttle_min = s.delivery.throttle.min;
    settings.throttle_max = s.delivery.throttle.max;
    settings.hold = s.delivery.hold;
    settings.ready_timeout = s.delivery.ready_timeout;
    return settings;
}

void Deliveries::attach(worker::Worker& worker, const workspace::Worker& definition) {
    const std::string name = worker.name();
    auto settings = settings_for(definition);
    auto found = dispatchers_.find(name);
    if (found == dispatchers_.end()) {
        // The port looks the worker up by name each time: a reload may
        // replace the Worker object while its queue stays.
        delivery::WorkerPort port{
            .running =
                [this, name] {
                    auto* w = server_.find(name);
                    return w != nullptr && w->state() == worker::State::Running && !w->stopping();
                },
            .screen = [this, name]() -> const term::Screen& {
                return server_.find(name)->screen();
            },
            .last_output = [this, name] { return server_.find(name)->last_output(); },
            .last_keystroke = [this, name] { return server_.find(name)->last_keystroke(); },
            .person_draft = [this, name] { return server_.find(name)->person_draft(); },
            .write_unit =
                [this, name](std::vector<delivery::WorkerPort::Segment> segments,
                             std::function<void(bool)> done) {
                    auto* w = server_.find(name);
                    if (w == nullptr) {
                        done(false);
                        return;
                    }
                    std::vector<worker::Worker::Segment> converted;
                    for (auto& s : segments) {
                        converted.push_back({std::move(s.bytes), s.delay_before,
                                             std::move(s.wait_for), s.wait_limit});
                    }
                    w->write_unit(std::move(converted), std::move(done));
                },
        };
        found =
            dispatchers_
                .emplace(name, std::make_unique<delivery::Dispatcher>(
                                   loop_, name, std::move(settings), std::move(port),
                                   [this, name](const std::string& type, nlohmann::json fields) {
                                       server_.events().publish(type, name, std::move(fields));
                                   },
                                   journal()))
                .first;
    } else {
        found->second->set_settings(std::move(settings));
    }
    delivery::Dispatcher* dispatcher = found->second.get();
    worker.set_output_listener([dispatcher] { dispatcher->on_output(); });
    if (worker.state() == worker::State::Running) {
        dispatcher->on_worker_started();
    }
}

void Deliveries::remove(const std::string& worker) {
    auto found = dispatchers_.find(worker);
    if (found != dispatchers_.end()) {
        // The worker may print while it stops; its output must not reach a
        // dispatcher that is gone.
        if (auto* w = server_.find(worker)) {
            w->set_output_listener(nullptr);
        }
        found->second->drop_all("worker_removed");
        dispatchers_.erase(found);
    }
}

void Deliveries::on_worker_event(const std::string& worker, const std::string& type) {
    auto found = dispatchers_.find(worker);
    if (found == dispatchers_.end()) {
        return;
    }
    if (type == "worker_started") {
        found->second->on_worker_started();
    } else if (type == "worker_exited" || type == "worker_stopped" || type == "worker_failed") {
        found->second->on_worker_stopped();
    }
}

delivery::Dispatcher* Deliveries::dispatcher(const std::string& worker) {
    auto found = dispatchers_.find(worker);
    return found == dispatchers_.end() ? nullptr : found->second.get();
}

std::variant<std::vector<Deliveries::Sent>, Deliveries::SendError>
Deliveries::send(const SendRequest& request) {
    namespace errors = protocol::errors;
    if (!store_) {
        return SendError{errors::internal, "the delivery store is not open"};
    }
    if (!request.key.empty()) {
        const auto found =
            store_->find_key(request.key, delivery::SystemClock::now() - key_lifetime);
        if (!found.empty()) {
            std::vector<Sent> sent;
            for (const auto& match : found) {
                sent.push_back({match.id, match.to, true});
            }
            return sent;
        }
    }
    // Who gets it: one worker, a group, or everyone but the sender.
    std::vector<std::string> targets;
    const auto& workspace = server_.workspace();
    if (request.target == "all") {
        for (const auto& w : workspace.workers) {
            if (w.name != request.from) {
                targets.push_back(w.name);
            }
        }
    } else if (request.target.starts_with("@")) {
        const std::string group = request.target.substr(1);
        for (const auto& w : workspace.workers) {
            if (std::find(w.groups.begin(), w.groups.end(), group) != w.groups.end() &&
                w.name != request.from) {
                targets.push_back(w.name);
            }
        }
        if (targets.empty()) {
            return SendError{errors::unknown_worker,
                             "no worker is in group \"" + group +
                                 "\" (besides the sender); give workers `groups: [" + group +
                                 "]` in the workspace file and `switchboard reload`"};
        }
    } else {
        if (workspace.find_worker(request.target) == nullptr) {
            std::vector<std::string> names;
            for (const auto& w : workspace.workers) {
                names.push_back(w.name);
            }
            return SendError{errors::unknown_worker, "no worker \"" + request.target +
                                                         "\" in workspace \"" + workspace.name +
                                                         "\" (workers: " + util::join(names, ", ") +
                                                         "; or @group, or all)"};
        }
        targets.push_back(request.target);
    }
    if (targets.empty()) {
        return SendError{errors::unknown_worker,
                         "no worker to send to besides the sender; add workers to the "
                         "workspace file and `switchboard reload`"};
    }
    if (request.body.empty()) {
        return SendError{errors::invalid_argument, "the message is empty; give the text to send"};
    }
    // Every target takes the message or none does: the smallest
    // delivery.max_body of the targets is the limit.
    std::optional<std::size_t> max_body;
    for (const auto& target : targets) {
        if (const auto* definition = workspace.find_worker(target)) {
            const std::size_t limit = definition->settings.delivery.max_body;
            max_body = max_body ? std::min(*max_body, limit) : limit;
        }
    }
    auto sanitized = delivery::sanitize_body(request.body, max_body.value_or(default_max_body));
    if (auto* rejected = std::get_if<delivery::Rejected>(&sanitized)) {
        return SendError{errors::invalid_argument, rejected->message};
    }
    const auto& clean = std::get<delivery::Sanitized>(sanitized);
    if (clean.text.find_first_not_of(" \t\n") == std::string::npos) {
        return SendError{errors::invalid_argument,
                         "the message has nothing printable once control characters are removed"};
    }
    // Accepted only once the store has the deliveries and the evictions they
    // cause; nothing is queued when it cannot save them.
    std::vector<delivery::Delivery> created;
    std::vector<delivery::Delivery> evicted;
    const auto first_id = next_id_;
    for (const auto& target : targets) {
        auto* dispatcher = this->dispatcher(target);
        if (dispatcher == nullptr) {
            continue;
        }
        delivery::Delivery d;
        d.id = "d-" + std::to_string(next_id_++);
        d.from = request.from;
        d.to = target;
        d.body = clean.text;
        d.key = request.key;
        d.created_at = delivery::SystemClock::now();
        d.removed_bytes = clean.removed;
        for (auto& e : dispatcher->evictions(1)) {
            evicted.push_back(std::move(e));
        }
        created.push_back(std::move(d));
    }
    if (auto error = store_->commit(created, evicted)) {
        next_id_ = first_id;
        store_failed(*error);
        return SendError{errors::store_failed,
                         "the message was not accepted: " + *error +
                             "; nothing was queued. Free space (or fix the file) and send again"};
    }
    std::vector<Sent> sent;
    for (auto& d : created) {
        sent.push_back({d.id, d.to, false});
        dispatcher(d.to)->enqueue(std::move(d));
    }
    return sent;
}

std::optional<Deliveries::CancelError> Deliveries::cancel(const std::string& id) {
    namespace errors = protocol::errors;
    for (auto& [name, dispatcher] : dispatchers_) {
        switch (dispatcher->cancel(id)) {
        case delivery::CancelResult::Cancelled:
            return std::nullopt;
        case delivery::CancelResult::NotSaved:
            return CancelError{errors::store_failed,
                               "delivery \"" + id +
                                   "\" was not cancelled: the store cannot save the change (see "
                                   "`switchboard events` for store_error); try again"};
        case delivery::CancelResult::NotQueued:
            break;
        }
    }
    return CancelError{errors::invalid_argument,
                       "no queued or followed delivery \"" + id +
                           "\" (it is unknown, being typed, accepted, or finished; "
                           "`switchboard pending` lists what can be cancelled)"};
}

std::optional<Deliveries::CancelError> Deliveries::nudge(const std::string& id) {
    for (auto& [name, dispatcher] : dispatchers_) {
        if (dispatcher->nudge(id)) {
            return std::nullopt;
        }
    }
    return CancelError{protocol::errors::invalid_argument,
                       "no delivery \"" + id +
                           "\" waits to be submitted or accepted (it is unknown, queued, "
                           "accepted, or finished; `switchboard pending` lists stalled ones)"};
}

void Deliveries::shutdown() {
    for (auto& [name, dispatcher] : dispatchers_) {
        dispatcher->shutdown();
    }
}

nlohmann::json Deliveries::pending(const std::string& worker) const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [name, dispatcher] : dispatchers_) {
        if (!worker.empty() && name != worker) {
            continue;
        }
        for (const auto& f : dispatcher->followed()) {
            const char* stage = f.phase == delivery::Phase::Submitting  ? "submitting"
                                : f.phase == delivery::Phase::Accepting ? "submitted"
                                                                        : "stalled";
            auto entry = delivery_json(f.delivery, stage);
            if (f.phase == delivery::Phase::Stalled) {
                entry["reason"] = f.delivery.state_reason;
            }
            entry["sequence"] = f.delivery.state_sequence;
            out.push_back(std::move(entry));
        }
        if (const auto& flying = dispatcher->in_flight()) {
            out.push_back(delivery_json(
                *flying, flying->stage == delivery::Stage::Injecting ? "injecting" : "verifying"));
        }
        for (const auto& d : dispatcher->queued()) {
            auto entry = delivery_json(d, "queued");
            entry["waiting_for"] = dispatcher->waiting_for();
            out.push_back(std::move(entry));
        }
    }
    return out;
}

nlohmann::json Deliveries::history(const std::string& worker,
                                   delivery::SystemClock::time_point since) {
    nlohmann::json out = nlohmann::json::array();
    if (store_) {
        for (const auto& d : store_->history(worker, since)) {
            out.push_back(delivery::history_entry(d));
        }
    }
    return out;
}

} // namespace sb::server
