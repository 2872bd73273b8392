#include "server/deliveries.hpp"

#include <algorithm>
#include <iterator>
#include <optional>
#include <utility>

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
    : loop_(loop), server_(server), retry_timer_(loop), gone_timer_(loop), expiry_timer_(loop),
      turn_end_(loop, [this] { end_turn(); }) {}

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
    for (auto& held : std::exchange(held_, {})) {
        server_.events().publish(held.type, held.worker, std::move(held.fields));
    }
}

void Deliveries::publish(const std::string& type, const std::string& worker,
                         nlohmann::json fields) {
    if (held_.empty() && !(store_ && store_->dirty())) {
        server_.events().publish(type, worker, std::move(fields));
        return;
    }
    held_.push_back({type, worker, std::move(fields)});
    turn_end_.arm();
}

void Deliveries::end_turn() {
    // Only what this turn staged is tried here: what an earlier save could
    // not keep waits for the retry timer, as its backoff says.
    if (std::exchange(staged_, false) && store_ && store_->dirty()) {
        if (auto error = store_->flush()) {
            // What could not be saved is kept and retried; its events are
            // not held back for that (store_error tells of it).
            store_failed(*error);
        }
    }
    for (auto& held : std::exchange(held_, {})) {
        server_.events().publish(held.type, held.worker, std::move(held.fields));
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

    // What was accepted and never finished is queued again, in its order;
    // what was in the inbox is there again, and what waited for a worker
    // that has since left the workspace file joins it.
    std::size_t restored = 0;
    std::size_t redelivered = 0;
    std::vector<delivery::Delivery> removed;
    for (auto& d : store_->unfinished()) {
        if (d.expires_at.time_since_epoch().count() != 0) {
            arm_expiry(d.expires_at);
        }
        if (!d.inbox_reason.empty()) {
            inbox_.push_back(std::move(d));
            continue;
        }
        auto* dispatcher = this->dispatcher(d.to);
        if (dispatcher == nullptr) {
            removed.push_back(std::move(d));
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
            delivery::mark_queued(d);
            ++redelivered;
        }
        d.stage = delivery::Stage::Queued;
        dispatcher->enqueue(std::move(d), true);
        ++restored;
    }
    logger()->info("store {} ({}): {} unfinished deliveries queued again, {} of them "
                   "redelivered; {} in the inbox",
                   store_->file().string(), delivery::to_string(durability), restored, redelivered,
                   inbox_.size());
    if (!removed.empty()) {
        to_inbox(std::move(removed), "worker_removed");
    }
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
        // What has happened is saved at the end of the turn, with every
        // other change of the turn (or sooner, with a commit), and its event
        // is held until then: one transaction per turn rather than one per
        // change, and nobody hears of a change the store does not have.
        .record =
            [this](const delivery::Delivery& d) {
                if (!store_) {
                    return;
                }
                store_->stage(d);
                staged_ = true;
                turn_end_.arm();
                if (d.outcome != delivery::Outcome::None) {
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
                                       publish(type, name, std::move(fields));
                                       // A failed attempt comes back to the
                                       // queue of a worker that may be gone.
                                       if (type == "delivery_failed") {
                                           schedule_gone_check();
                                       }
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
        // What is being typed, or typed and not yet submitted, goes with the
        // queue: the worker stops and the next to take it is a dispatch.
        found->second->shutdown("the worker is removed from the workspace");
        auto taken = found->second->take_queued();
        std::vector<delivery::Delivery> moved(std::make_move_iterator(taken.begin()),
                                              std::make_move_iterator(taken.end()));
        dispatchers_.erase(found);
        if (!moved.empty()) {
            logger()->info("{}: removed from the workspace; {} queued deliveries go to the inbox",
                           worker, moved.size());
            to_inbox(std::move(moved), "worker_removed");
        }
    }
}

bool Deliveries::gone(const std::string& worker) const {
    const auto* w = server_.find(worker);
    return w != nullptr &&
           (w->state() == worker::State::Exited || w->state() == worker::State::Failed);
}

void Deliveries::schedule_gone_check() {
    if (!gone_timer_.active()) {
        gone_timer_.start(std::chrono::milliseconds(0), [this] { move_gone(); });
    }
}

void Deliveries::move_gone() {
    for (auto& [name, dispatcher] : dispatchers_) {
        if (dispatcher->queued().empty() || !gone(name)) {
            continue;
        }
        auto taken = dispatcher->take_queued();
        std::vector<delivery::Delivery> moved(std::make_move_iterator(taken.begin()),
                                              std::make_move_iterator(taken.end()));
        logger()->info("{}: ended and will not be restarted; {} queued deliveries go to the inbox",
                       name, moved.size());
        to_inbox(std::move(moved), "worker_gone");
    }
}

void Deliveries::to_inbox(std::vector<delivery::Delivery> moved, const std::string& reason) {
    const auto now = delivery::SystemClock::now();
    for (auto& d : moved) {
        d.inbox_reason = reason;
        d.inboxed_at = now;
        d.stage = delivery::Stage::Queued;
    }
    // The move has happened (the queue is gone): what the store cannot save
    // now is kept for its retries, like an outcome. Moves are never refused
    // for a full inbox, which would lose them; only new messages are.
    if (store_) {
        if (auto error = store_->commit({}, moved)) {
            for (const auto& d : moved) {
                store_->record(d);
            }
            store_failed(*error);
        }
    }
    for (auto& d : moved) {
        if (d.expires_at.time_since_epoch().count() != 0) {
            arm_expiry(d.expires_at);
        }
        publish("delivery_inboxed", d.to,
                {{"id", d.id}, {"from", d.from}, {"to", d.to}, {"reason", reason}});
        inbox_.push_back(std::move(d));
    }
}

void Deliveries::arm_expiry(delivery::SystemClock::time_point at) {
    if (expiry_timer_.active() && expiry_at_ <= at) {
        return;
    }
    expiry_at_ = at;
    const auto delay =
        std::chrono::duration_cast<std::chrono::milliseconds>(at - delivery::SystemClock::now());
    expiry_timer_.start(std::max(delay, std::chrono::milliseconds(0)) +
                            std::chrono::milliseconds(1),
                        [this] { expire(); });
}

void Deliveries::expire() {
    expiry_at_ = {};
    const auto now = delivery::SystemClock::now();
    delivery::SystemClock::time_point next{};
    const auto consider = [&next](const delivery::Delivery& d) {
        if (d.expires_at.time_since_epoch().count() != 0 &&
            (next.time_since_epoch().count() == 0 || d.expires_at < next)) {
            next = d.expires_at;
        }
    };
    bool unsaved = false;
    for (auto& [name, dispatcher] : dispatchers_) {
        std::vector<std::string> stale;
        for (const auto& d : dispatcher->queued()) {
            if (delivery::expired(d, now)) {
                stale.push_back(d.id);
            } else {
                consider(d);
            }
        }
        for (const auto& id : stale) {
            if (dispatcher->cancel(id, "expired") == delivery::CancelResult::NotSaved) {
                unsaved = true;
            }
        }
    }
    for (auto it = inbox_.begin(); it != inbox_.end();) {
        if (!delivery::expired(*it, now)) {
            consider(*it);
            ++it;
            continue;
        }
        delivery::Delivery stale = *it;
        delivery::mark_dropped(stale, "expired");
        if (store_) {
            if (auto error = store_->commit({}, {stale})) {
                store_failed(*error);
                unsaved = true;
                ++it;
                continue;
            }
        }
        publish("delivery_dropped", stale.to,
                {{"id", stale.id}, {"from", stale.from}, {"reason", "expired"}});
        it = inbox_.erase(it);
    }
    // What the store refused to drop is tried again in a second.
    if (unsaved) {
        const auto retry = now + std::chrono::seconds(1);
        if (next.time_since_epoch().count() == 0 || retry < next) {
            next = retry;
        }
    }
    if (next.time_since_epoch().count() != 0) {
        arm_expiry(next);
    }
}

void Deliveries::emit_state(const std::string& worker, const std::string& id,
                            const std::string& state, long long sequence, nlohmann::json fields) {
    fields["id"] = id;
    fields["state"] = state;
    fields["sequence"] = sequence;
    publish("delivery_state", worker, std::move(fields));
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
    if (type == "worker_exited" || type == "worker_failed") {
        schedule_gone_check();
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
    if (!request.reply_to.empty()) {
        return send_reply(request);
    }
    // Who gets it: one worker, a group, everyone but the sender, or the
    // inbox.
    std::vector<std::string> targets;
    const auto& workspace = server_.workspace();
    const auto unknown = [&](const std::string& name, const std::string& alternatives) {
        std::vector<std::string> names;
        for (const auto& w : workspace.workers) {
            names.push_back(w.name);
        }
        return SendError{errors::unknown_worker,
                         "no worker \"" + name + "\" in workspace \"" + workspace.name +
                             "\" (workers: " + util::join(names, ", ") + alternatives + ")"};
    };
    if (request.to_inbox) {
        // The worker it is meant for, if any, is kept for whoever
        // dispatches it.
        if (!request.target.empty() && workspace.find_worker(request.target) == nullptr) {
            return unknown(request.target, "; --to-inbox takes one worker's name, or none");
        }
        targets.push_back(request.target);
    } else if (request.target == "all") {
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
            return unknown(request.target, "; or @group, or all");
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
    // cause; nothing is queued when it cannot save them. A worker that has
    // ended for good gets nothing typed: its copy goes to the inbox.
    std::vector<delivery::Delivery> created;
    std::vector<delivery::Delivery> evicted;
    const auto first_id = next_id_;
    const auto now = delivery::SystemClock::now();
    std::size_t inboxed = 0;
    for (const auto& target : targets) {
        auto* dispatcher = this->dispatcher(target);
        if (dispatcher == nullptr && !request.to_inbox) {
            continue;
        }
        delivery::Delivery d;
        d.id = "d-" + std::to_string(next_id_++);
        d.from = request.from;
        d.to = target;
        d.body = clean.text;
        d.key = request.key;
        d.created_at = now;
        d.removed_bytes = clean.removed;
        if (request.ttl) {
            d.expires_at = now + *request.ttl;
        }
        if (request.to_inbox || gone(target)) {
            d.inbox_reason = request.to_inbox ? "requested" : "worker_gone";
            d.inboxed_at = now;
            ++inboxed;
        } else {
            for (auto& e : dispatcher->evictions(1)) {
                evicted.push_back(std::move(e));
            }
        }
        created.push_back(std::move(d));
    }
    if (auto full = inbox_refuses(inboxed)) {
        next_id_ = first_id;
        return *full;
    }
    // One the worker can take now is saved as being typed in the same
    // transaction as the send, and typed once that is committed: one write
    // to the disk instead of two.
    std::vector<std::optional<delivery::Delivery>> typed(created.size());
    auto updates = std::move(evicted);
    for (std::size_t i = 0; i < created.size(); ++i) {
        if (!created[i].inbox_reason.empty()) {
            continue;
        }
        typed[i] = dispatcher(created[i].to)->typed_at_once(created[i]);
        if (typed[i]) {
            updates.push_back(*typed[i]);
        }
    }
    if (auto error = store_->commit(created, updates)) {
        next_id_ = first_id;
        store_failed(*error);
        return SendError{errors::store_failed,
                         "the message was not accepted: " + *error +
                             "; nothing was queued. Free space (or fix the file) and send again"};
    }
    std::vector<Sent> sent;
    for (std::size_t i = 0; i < created.size(); ++i) {
        auto& d = created[i];
        sent.push_back({d.id, d.to, false, d.inbox_reason});
        if (typed[i]) {
            if (d.expires_at.time_since_epoch().count() != 0) {
                arm_expiry(d.expires_at);
            }
            dispatcher(d.to)->enqueue_typed(std::move(*typed[i]));
        } else {
            place(std::move(d));
        }
    }
    return sent;
}

std::optional<Deliveries::SendError> Deliveries::inbox_refuses(std::size_t incoming) const {
    const auto capacity =
        static_cast<std::size_t>(std::max(server_.workspace().store.inbox_capacity, 0));
    if (incoming == 0 || inbox_.size() + incoming <= capacity) {
        return std::nullopt;
    }
    return SendError{protocol::errors::inbox_full,
                     "the inbox is full (" + std::to_string(inbox_.size()) + " of " +
                         std::to_string(capacity) +
                         "); nothing was accepted. Dispatch or cancel what waits there "
                         "(`switchboard inbox` lists it), or raise inbox_capacity in the "
                         "workspace file and `switchboard reload`"};
}

void Deliveries::place(delivery::Delivery d) {
    if (d.expires_at.time_since_epoch().count() != 0) {
        arm_expiry(d.expires_at);
    }
    if (!d.inbox_reason.empty()) {
        publish("delivery_inboxed", d.to,
                {{"id", d.id}, {"from", d.from}, {"to", d.to}, {"reason", d.inbox_reason}});
        inbox_.push_back(std::move(d));
        return;
    }
    dispatcher(d.to)->enqueue(std::move(d));
}

std::variant<std::vector<Deliveries::Sent>, Deliveries::SendError>
Deliveries::send_reply(const SendRequest& request) {
    namespace errors = protocol::errors;
    if (!request.target.empty() || request.to_inbox) {
        return SendError{errors::invalid_argument,
                         "a reply goes to the sender of the delivery it answers; give no target "
                         "and no --to-inbox with --reply-to"};
    }
    auto original =
        delivery::id_number(request.reply_to) != 0 ? store_->find(request.reply_to) : std::nullopt;
    if (!original) {
        return SendError{errors::unknown_delivery,
                         "no delivery \"" + request.reply_to +
                             "\" to reply to: it was never sent, or it finished longer than "
                             "history_retention ago and was pruned (`switchboard history` lists "
                             "the deliveries kept)"};
    }
    if (request.body.empty()) {
        return SendError{errors::invalid_argument, "the reply is empty; give the text to send"};
    }
    // The sender is a worker of the workspace (its reply is typed into it)
    // or a client (its reply is handed to whoever waits with --wait-reply,
    // and kept in the history).
    const std::string to = original->from;
    auto* target = dispatcher(to);
    std::size_t max_body = default_max_body;
    if (const auto* definition = server_.workspace().find_worker(to)) {
        max_body = definition->settings.delivery.max_body;
    }
    auto sanitized = delivery::sanitize_body(request.body, max_body);
    if (auto* rejected = std::get_if<delivery::Rejected>(&sanitized)) {
        return SendError{errors::invalid_argument, rejected->message};
    }
    const auto& clean = std::get<delivery::Sanitized>(sanitized);
    if (clean.text.find_first_not_of(" \t\n") == std::string::npos) {
        return SendError{errors::invalid_argument,
                         "the reply has nothing printable once control characters are removed"};
    }
    const auto now = delivery::SystemClock::now();
    delivery::Delivery d;
    d.id = "d-" + std::to_string(next_id_++);
    d.from = request.from;
    d.to = to;
    d.body = clean.text;
    d.key = request.key;
    d.created_at = now;
    d.removed_bytes = clean.removed;
    d.reply_to = original->id;
    std::vector<delivery::Delivery> evicted;
    if (target == nullptr) {
        const bool waited = std::any_of(waiters_.begin(), waiters_.end(),
                                        [&](const auto& w) { return w.second.id == original->id; });
        d.stage = delivery::Stage::Done;
        d.finished_at = now;
        d.client_reply = waited ? "handed" : "kept";
    } else {
        if (request.ttl) {
            d.expires_at = now + *request.ttl;
        }
        if (gone(to)) {
            d.inbox_reason = "worker_gone";
            d.inboxed_at = now;
            if (auto full = inbox_refuses(1)) {
                --next_id_;
                return *full;
            }
        } else {
            evicted = target->evictions(1);
        }
    }
    auto counted = store_->commit_reply(d, evicted);
    if (auto* error = std::get_if<std::string>(&counted)) {
        --next_id_;
        store_failed(*error);
        return SendError{errors::store_failed,
                         "the reply was not accepted: " + *error +
                             "; nothing was queued. Free space (or fix the file) and send again"};
    }
    const auto count = std::get<delivery::Store::ReplyCount>(counted);
    if (auto* answered = this->dispatcher(original->to)) {
        answered->on_replied(original->id, static_cast<int>(count.sequence));
    }
    emit_state(original->to, original->id, "replied", count.sequence,
               {{"reply_id", d.id}, {"reply", count.number}, {"repeat", count.number > 1}});
    Sent sent{d.id, d.to, false, d.inbox_reason, count.number, target == nullptr};
    // Whoever waits for a reply to the original gets this one (a worker
    // that asked with --wait-reply too).
    std::vector<std::function<void(const delivery::Delivery&)>> handed;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
        if (it->second.id == original->id) {
            handed.push_back(std::move(it->second.callback));
            it = waiters_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& callback : handed) {
        callback(d);
    }
    if (target != nullptr) {
        place(std::move(d));
    }
    return std::vector<Sent>{sent};
}

std::variant<Deliveries::ReplyWait, Deliveries::CancelError>
Deliveries::wait_reply(const std::string& id,
                       std::function<void(const delivery::Delivery&)> waiter) {
    namespace errors = protocol::errors;
    if (!store_) {
        return CancelError{errors::internal, "the delivery store is not open"};
    }
    if (delivery::id_number(id) == 0 || !store_->find(id)) {
        return CancelError{errors::unknown_delivery,
                           "no delivery \"" + id +
                               "\" to wait for a reply to: it was never sent, or it was pruned "
                               "from the history"};
    }
    if (auto reply = store_->first_reply(id)) {
        // It came before anyone waited: this client gets it now.
        if (reply->client_reply == "kept") {
            if (auto error = store_->mark_handed(reply->id)) {
                logger()->warn("{}", *error);
            } else {
                reply->client_reply = "handed";
            }
        }
        return ReplyWait{std::move(reply), 0};
    }
    const auto token = next_waiter_++;
    waiters_.emplace(token, Waiter{id, std::move(waiter)});
    return ReplyWait{std::nullopt, token};
}

void Deliveries::cancel_wait(std::uint64_t token) {
    waiters_.erase(token);
}

nlohmann::json Deliveries::inbox() const {
    nlohmann::json out = nlohmann::json::array();
    const auto now = delivery::SystemClock::now();
    for (const auto& d : inbox_) {
        nlohmann::json entry = {
            {"id", d.id},
            {"from", d.from},
            {"to", d.to},
            {"reason", d.inbox_reason},
            {"bytes", d.body.size()},
            {"created_at", delivery::epoch_ms(d.created_at)},
            {"inboxed_at", delivery::epoch_ms(d.inboxed_at)},
            {"age_ms",
             std::max<long long>(0, delivery::epoch_ms(now) - delivery::epoch_ms(d.inboxed_at))},
            {"preview", delivery::preview(d.body)},
        };
        if (d.expires_at.time_since_epoch().count() != 0) {
            entry["expires_at"] = delivery::epoch_ms(d.expires_at);
        }
        if (!d.reply_to.empty()) {
            entry["reply_to"] = d.reply_to;
        }
        out.push_back(std::move(entry));
    }
    return out;
}

std::optional<Deliveries::CancelError> Deliveries::dispatch(const std::string& id,
                                                            const std::string& worker) {
    namespace errors = protocol::errors;
    auto entry = std::find_if(inbox_.begin(), inbox_.end(),
                              [&](const delivery::Delivery& d) { return d.id == id; });
    if (entry == inbox_.end()) {
        return CancelError{errors::unknown_delivery,
                           "no delivery \"" + id +
                               "\" in the inbox (`switchboard inbox` lists what is there)"};
    }
    auto* target = dispatcher(worker);
    if (target == nullptr) {
        std::vector<std::string> names;
        for (const auto& [name, unused] : dispatchers_) {
            names.push_back(name);
        }
        return CancelError{errors::unknown_worker, "no worker \"" + worker + "\" in workspace \"" +
                                                       server_.workspace().name +
                                                       "\" (workers: " + util::join(names, ", ") +
                                                       "); " + id + " stays in the inbox"};
    }
    if (gone(worker)) {
        const auto* w = server_.find(worker);
        const bool failed = w->state() == worker::State::Failed;
        return CancelError{errors::not_running,
                           "worker \"" + worker + "\" has " + (failed ? "failed" : "exited") +
                               " and will not be restarted (" + w->reason() + "); " + id +
                               " stays in the inbox. Start it (`switchboard start " + worker +
                               "`) or dispatch to another worker"};
    }
    delivery::Delivery moved = *entry;
    const std::string meant_for = moved.to;
    const std::string reason = moved.inbox_reason;
    moved.to = worker;
    moved.inbox_reason.clear();
    moved.inboxed_at = {};
    moved.stage = delivery::Stage::Queued;
    std::vector<delivery::Delivery> updates{moved};
    for (auto& e : target->evictions(1)) {
        updates.push_back(std::move(e));
    }
    if (store_) {
        if (auto error = store_->commit({}, updates)) {
            store_failed(*error);
            return CancelError{errors::store_failed, "delivery \"" + id +
                                                         "\" was not dispatched: " + *error +
                                                         "; it stays in the inbox. Try again"};
        }
    }
    inbox_.erase(entry);
    publish("delivery_dispatched", worker,
            {{"id", moved.id},
             {"from", moved.from},
             {"to", worker},
             {"was_to", meant_for},
             {"reason", reason}});
    target->enqueue(std::move(moved));
    return std::nullopt;
}

std::optional<Deliveries::CancelError> Deliveries::cancel(const std::string& id) {
    namespace errors = protocol::errors;
    auto entry = std::find_if(inbox_.begin(), inbox_.end(),
                              [&](const delivery::Delivery& d) { return d.id == id; });
    if (entry != inbox_.end()) {
        delivery::Delivery cancelled = *entry;
        delivery::mark_dropped(cancelled, "cancelled");
        if (store_) {
            if (auto error = store_->commit({}, {cancelled})) {
                store_failed(*error);
                return CancelError{errors::store_failed,
                                   "delivery \"" + id +
                                       "\" was not cancelled: the store cannot save the change (" +
                                       *error + "); try again"};
            }
        }
        inbox_.erase(entry);
        publish("delivery_dropped", cancelled.to,
                {{"id", cancelled.id}, {"from", cancelled.from}, {"reason", "cancelled"}});
        return std::nullopt;
    }
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
