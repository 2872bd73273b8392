#include "server/deliveries.hpp"

#include <algorithm>
#include <optional>

#include "delivery/sanitize.hpp"
#include "protocol/protocol.hpp"
#include "server/server.hpp"
#include "util/strings.hpp"

namespace sb::server {

namespace {

// How long `send --key` remembers a key.
constexpr std::chrono::hours key_lifetime{24};

// The first 60 bytes of a body, cut at a character boundary.
std::string preview(const std::string& body) {
    std::size_t end = std::min<std::size_t>(body.size(), 60);
    while (end > 0 && end < body.size() && (static_cast<unsigned char>(body[end]) & 0xC0) == 0x80) {
        --end;
    }
    return body.substr(0, end);
}

nlohmann::json delivery_json(const delivery::Delivery& d, const std::string& stage) {
    return {{"id", d.id},
            {"from", d.from},
            {"to", d.to},
            {"bytes", d.body.size()},
            {"attempts", d.attempts},
            {"stage", stage},
            {"created_at",
             std::chrono::duration_cast<std::chrono::milliseconds>(d.created_at.time_since_epoch())
                 .count()},
            {"preview", preview(d.body)}};
}

} // namespace

Deliveries::Deliveries(uv_loop_t* loop, Server& server) : loop_(loop), server_(server) {}

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
                    return w != nullptr && w->state() == worker::State::Running;
                },
            .screen = [this, name]() -> const term::Screen& {
                return server_.find(name)->screen();
            },
            .last_output = [this, name] { return server_.find(name)->last_output(); },
            .last_keystroke = [this, name] { return server_.find(name)->last_keystroke(); },
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
                                   }))
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
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(keys_, [&](const auto& entry) { return now - entry.second.at > key_lifetime; });
    if (!request.key.empty()) {
        if (auto found = keys_.find(request.key); found != keys_.end()) {
            auto sent = found->second.sent;
            for (auto& s : sent) {
                s.existing = true;
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
                             "no worker is in group \"" + group + "\" (besides the sender)"};
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
        return SendError{errors::unknown_worker, "no worker to send to besides the sender"};
    }
    if (request.body.empty()) {
        return SendError{errors::invalid_argument, "the message is empty"};
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
    std::vector<Sent> sent;
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
        sent.push_back({d.id, target, false});
        dispatcher->enqueue(std::move(d));
    }
    if (!request.key.empty()) {
        keys_[request.key] = {sent, now};
    }
    return sent;
}

bool Deliveries::cancel(const std::string& id) {
    for (auto& [name, dispatcher] : dispatchers_) {
        if (dispatcher->cancel(id)) {
            return true;
        }
    }
    return false;
}

nlohmann::json Deliveries::pending(const std::string& worker) const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [name, dispatcher] : dispatchers_) {
        if (!worker.empty() && name != worker) {
            continue;
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

} // namespace sb::server
