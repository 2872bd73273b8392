#include "server/requests.hpp"

#include <map>
#include <unistd.h>

#include "protocol/protocol.hpp"
#include "protocol/screen_wire.hpp"
#include "server/server.hpp"
#include "util/prefix_key.hpp"
#include "util/strings.hpp"
#include "worker/keys.hpp"

namespace sb::server {

namespace {

using nlohmann::json;
namespace errors = protocol::errors;

// A request whose parameters are wrong answers with this error.
struct BadParams {
    std::string code;
    std::string message;
};

std::string string_param(const json& params, const char* name) {
    if (!params.contains(name) || !params[name].is_string()) {
        throw BadParams{errors::invalid_argument, std::string("\"") + name + "\" must be a string"};
    }
    return params[name].get<std::string>();
}

bool bool_param(const json& params, const char* name) {
    if (!params.contains(name)) {
        return false;
    }
    if (!params[name].is_boolean()) {
        throw BadParams{errors::invalid_argument,
                        std::string("\"") + name + "\" must be true or false"};
    }
    return params[name].get<bool>();
}

long long int_param(const json& params, const char* name, long long fallback, long long min,
                    long long max) {
    if (!params.contains(name)) {
        return fallback;
    }
    if (!params[name].is_number_integer()) {
        throw BadParams{errors::invalid_argument,
                        std::string("\"") + name + "\" must be an integer"};
    }
    const auto value = params[name].get<long long>();
    if (value < min || value > max) {
        throw BadParams{errors::invalid_argument, std::string("\"") + name + "\" must be in " +
                                                      std::to_string(min) + ".." +
                                                      std::to_string(max)};
    }
    return value;
}

std::string worker_names(const Server& server) {
    std::vector<std::string> names;
    for (const auto& w : server.workers()) {
        names.push_back(w->name());
    }
    return util::join(names, ", ");
}

worker::Worker& named_worker(Server& server, const std::string& name) {
    if (auto* w = server.find(name)) {
        return *w;
    }
    throw BadParams{errors::unknown_worker, "no worker \"" + name + "\" in workspace \"" +
                                                server.workspace().name +
                                                "\" (workers: " + worker_names(server) + ")"};
}

worker::Worker& worker_param(Server& server, const json& params) {
    return named_worker(server, string_param(params, "worker"));
}

// The workers a start/stop/restart names: "workers": [...] or "all": true.
std::vector<worker::Worker*> workers_param(Server& server, const json& params) {
    std::vector<worker::Worker*> selected;
    if (bool_param(params, "all")) {
        for (const auto& w : server.workers()) {
            selected.push_back(w.get());
        }
        return selected;
    }
    if (!params.contains("workers") || !params["workers"].is_array() || params["workers"].empty()) {
        throw BadParams{errors::invalid_argument, "name the workers (\"workers\": [...]) or give "
                                                  "\"all\": true"};
    }
    for (const auto& name : params["workers"]) {
        if (!name.is_string()) {
            throw BadParams{errors::invalid_argument, "\"workers\" must be a list of names"};
        }
        auto* w = server.find(name.get<std::string>());
        if (w == nullptr) {
            throw BadParams{errors::unknown_worker,
                            "no worker \"" + name.get<std::string>() + "\" in workspace \"" +
                                server.workspace().name + "\" (workers: " + worker_names(server) +
                                ")"};
        }
        if (std::find(selected.begin(), selected.end(), w) == selected.end()) {
            selected.push_back(w);
        }
    }
    return selected;
}

// The panes of an attach or attach_view request.
std::vector<AttachHub::Pane> panes_param(Server& server, const json& params) {
    if (!params.contains("panes") || !params["panes"].is_array()) {
        throw BadParams{errors::invalid_argument,
                        "\"panes\" must be a list of {\"worker\", \"cols\", \"rows\"}"};
    }
    std::vector<AttachHub::Pane> panes;
    for (const auto& pane : params["panes"]) {
        if (!pane.is_object()) {
            throw BadParams{errors::invalid_argument,
                            "\"panes\" must be a list of {\"worker\", \"cols\", \"rows\"}"};
        }
        auto& w = worker_param(server, pane);
        panes.push_back({.worker = w.name(),
                         .cols = static_cast<int>(int_param(pane, "cols", 80, 10, 1000)),
                         .rows = static_cast<int>(int_param(pane, "rows", 24, 5, 500))});
    }
    return panes;
}

json exit_json(const worker::ExitStatus& status) {
    if (!status.code && !status.signal) {
        return nullptr;
    }
    return {{"code", status.code ? json(*status.code) : json(nullptr)},
            {"signal", status.signal ? json(*status.signal) : json(nullptr)}};
}

json worker_json(Server& server, const worker::Worker& w) {
    const bool running = w.state() == worker::State::Running;
    const auto uptime = running ? std::chrono::duration_cast<std::chrono::milliseconds>(
                                      worker::Clock::now() - w.started_at())
                                      .count()
                                : 0;
    json out = {
        {"name", w.name()},
        {"state", std::string(worker::to_string(w.state()))},
        {"reason", w.reason()},
        {"pid", running ? json(w.pid()) : json(nullptr)},
        {"uptime_ms", uptime},
        {"restarts", w.restarts()},
        {"exit", exit_json(w.last_exit())},
        {"size", {{"cols", w.screen().cols()}, {"rows", w.screen().rows()}}},
        {"command", w.config().spawn.argv},
    };
    if (auto* d = server.deliveries().dispatcher(w.name())) {
        out["queue"] = d->depth();
        out["stalled"] = d->stalled();
        out["held"] = d->held();
        out["ready"] = d->ready();
        out["throttle_ms"] = d->throttle().delay().count();
    }
    return out;
}

} // namespace

void Requests::handle(const std::shared_ptr<Connection>& connection, const json& request) {
    const json id = request.contains("id") ? request["id"] : json(nullptr);
    const std::string method = request["method"].get<std::string>();
    const json& params = request["params"];
    using Handler = void (Requests::*)(const Reply&, const json&, const json&);
    static const std::map<std::string, Handler> handlers = {
        {"hello", &Requests::hello},
        {"ls", &Requests::ls},
        {"capture", &Requests::capture},
        {"keys", &Requests::keys},
        {"start", &Requests::start},
        {"stop", &Requests::stop},
        {"restart", &Requests::restart},
        {"resize", &Requests::resize},
        {"events", &Requests::events},
        {"down", &Requests::down},
        {"reload", &Requests::reload},
        {"send", &Requests::send},
        {"pending", &Requests::pending},
        {"hold", &Requests::hold},
        {"release", &Requests::release},
        {"cancel", &Requests::cancel},
        {"nudge", &Requests::nudge},
        {"inbox", &Requests::inbox},
        {"dispatch", &Requests::dispatch},
        {"wait_reply", &Requests::wait_reply},
        {"history", &Requests::history},
        {"attach", &Requests::attach},
        {"attach_view", &Requests::attach_view},
        {"attach_input", &Requests::attach_input},
        {"attach_scrollback", &Requests::attach_scrollback},
        {"attach_terminal", &Requests::attach_terminal},
        {"attach_terminal_resize", &Requests::attach_terminal_resize},
        {"attach_terminal_end", &Requests::attach_terminal_end},
    };
    const auto handler = handlers.find(method);
    if (handler == handlers.end()) {
        std::vector<std::string> names;
        for (const auto& [name, unused] : handlers) {
            names.push_back(name);
        }
        connection->send(protocol::error(id, errors::unknown_method,
                                         "unknown method \"" + method +
                                             "\" (methods: " + util::join(names, ", ") + ")"));
        return;
    }
    if (method != "hello" && !connection->greeted()) {
        connection->send(protocol::error(id, errors::hello_required,
                                         "send {\"method\":\"hello\",\"params\":{\"protocol\":" +
                                             std::to_string(protocol::version) + "}} first"));
        return;
    }
    try {
        (this->*(handler->second))(connection, id, params);
    } catch (const BadParams& bad) {
        connection->send(protocol::error(id, bad.code, bad.message));
    } catch (const json::exception& failure) {
        connection->send(protocol::error(id, errors::bad_request, failure.what()));
    }
}

void Requests::hello(const Reply& c, const json& id, const json& params) {
    const auto version = int_param(params, "protocol", -1, -1, 1'000'000);
    if (version != protocol::version) {
        c->send(protocol::error(id, errors::version_mismatch,
                                "this server speaks protocol " + std::to_string(protocol::version) +
                                    (version < 0 ? std::string(" and the client named none")
                                                 : ", the client " + std::to_string(version)) +
                                    "; use a client and server of the same switchboard version"));
        return;
    }
    c->set_greeted();
    c->send(protocol::result(id, {{"protocol", protocol::version},
                                  {"server", std::string("switchboard ") + SWITCHBOARD_VERSION},
                                  {"workspace", server_.workspace().name},
                                  {"file", server_.workspace().file.string()},
                                  {"socket", server_.context().socket_path},
                                  {"pid", ::getpid()}}));
}

void Requests::ls(const Reply& c, const json& id, const json&) {
    json workers = json::array();
    for (const auto& w : server_.workers()) {
        workers.push_back(worker_json(server_, *w));
    }
    c->send(protocol::result(
        id, {{"workspace", server_.workspace().name}, {"workers", std::move(workers)}}));
}

void Requests::capture(const Reply& c, const json& id, const json& params) {
    auto& w = worker_param(server_, params);
    const bool ansi = bool_param(params, "ansi");
    const auto scrollback = static_cast<int>(int_param(params, "scrollback", 0, 0, 10'000'000));
    const auto& screen = w.screen();
    const auto cursor = screen.cursor();
    c->send(protocol::result(
        id, {{"worker", w.name()},
             {"state", std::string(worker::to_string(w.state()))},
             {"text", ansi ? screen.render_ansi({.scrollback_lines = scrollback})
                           : screen.text(scrollback)},
             {"cols", screen.cols()},
             {"rows", screen.rows()},
             {"cursor", {{"row", cursor.row}, {"col", cursor.col}, {"visible", cursor.visible}}},
             {"title", screen.title()},
             {"alternate_screen", screen.alternate_screen()},
             {"bracketed_paste", screen.bracketed_paste()}}));
}

void Requests::keys(const Reply& c, const json& id, const json& params) {
    auto& w = worker_param(server_, params);
    if (!params.contains("keys") || !params["keys"].is_array()) {
        throw BadParams{errors::invalid_argument, "\"keys\" must be a list of key names or texts"};
    }
    const bool literal = bool_param(params, "literal");
    const bool paste = bool_param(params, "paste");
    if (w.state() != worker::State::Running) {
        throw BadParams{errors::not_running, "worker \"" + w.name() + "\" is " +
                                                 std::string(worker::to_string(w.state())) +
                                                 ", not running; start it with `switchboard "
                                                 "start " +
                                                 w.name() + "`"};
    }
    const auto& screen_modes = w.screen().modes();
    const worker::KeyModes modes{
        .application_cursor = w.screen().application_cursor_keys(),
        .protocols = {.kitty_keyboard_flags = screen_modes.kitty_keyboard_flags,
                      .modify_other_keys = screen_modes.modify_other_keys}};
    std::string bytes;
    for (const auto& key : params["keys"]) {
        if (!key.is_string()) {
            throw BadParams{errors::invalid_argument, "\"keys\" must be a list of strings"};
        }
        const std::string text = key.get<std::string>();
        bytes += (literal || paste) ? text : worker::encode_key(text, modes);
    }
    if (paste) {
        // The text must not end the paste early.
        const std::string end_marker = "\x1b[201~";
        for (auto at = bytes.find(end_marker); at != std::string::npos;
             at = bytes.find(end_marker)) {
            bytes.erase(at, end_marker.size());
        }
        if (w.screen().bracketed_paste()) {
            bytes = "\x1b[200~" + bytes + end_marker;
        }
    }
    // Typing into a worker holds its deliveries for a while (`hold`).
    w.note_keystroke(bytes);
    w.write(bytes);
    c->send(protocol::result(id, {{"worker", w.name()}, {"bytes", bytes.size()}}));
}

void Requests::start(const Reply& c, const json& id, const json& params) {
    auto selected = workers_param(server_, params);
    json out = json::array();
    for (auto* w : selected) {
        w->start();
        out.push_back(worker_json(server_, *w));
    }
    c->send(protocol::result(id, {{"workers", out}}));
}

namespace {

// Answers with the state of `selected` once each has called the callback
// it was given, and the caller once more after giving it to all: a stop or
// restart answers when every worker named is done.
std::function<void()> answer_when_all_done(Server& server, const std::shared_ptr<Connection>& c,
                                           const json& id,
                                           const std::vector<worker::Worker*>& selected) {
    auto remaining = std::make_shared<std::size_t>(selected.size() + 1);
    auto names = std::make_shared<std::vector<std::string>>();
    for (auto* w : selected) {
        names->push_back(w->name());
    }
    std::weak_ptr<Connection> weak = c;
    return [&server, weak, id, names, remaining] {
        if (--*remaining != 0) {
            return;
        }
        auto connection = weak.lock();
        if (!connection) {
            return;
        }
        json out = json::array();
        for (const auto& name : *names) {
            if (auto* w = server.find(name)) {
                out.push_back(worker_json(server, *w));
            }
        }
        connection->send(protocol::result(id, {{"workers", out}}));
    };
}

} // namespace

void Requests::stop(const Reply& c, const json& id, const json& params) {
    auto selected = workers_param(server_, params);
    std::optional<std::chrono::milliseconds> timeout;
    if (params.contains("timeout_ms")) {
        timeout = std::chrono::milliseconds(int_param(params, "timeout_ms", 0, 0, 3'600'000));
    }
    const auto done = answer_when_all_done(server_, c, id, selected);
    for (auto* w : selected) {
        w->stop(done, timeout);
    }
    done();
}

void Requests::restart(const Reply& c, const json& id, const json& params) {
    auto selected = workers_param(server_, params);
    const auto done = answer_when_all_done(server_, c, id, selected);
    for (auto* w : selected) {
        w->restart(done);
    }
    done();
}

void Requests::resize(const Reply& c, const json& id, const json& params) {
    auto& w = worker_param(server_, params);
    const auto cols = static_cast<int>(int_param(params, "cols", -1, 10, 1000));
    const auto rows = static_cast<int>(int_param(params, "rows", -1, 5, 500));
    if (cols < 0 || rows < 0) {
        throw BadParams{errors::invalid_argument, "give \"cols\" (10..1000) and \"rows\" (5..500)"};
    }
    w.resize(cols, rows);
    c->send(protocol::result(id, worker_json(server_, w)));
}

void Requests::events(const Reply& c, const json& id, const json& params) {
    auto& bus = server_.events();
    const bool follow = bool_param(params, "follow");
    const bool has_since = params.contains("since");
    const auto since = static_cast<std::uint64_t>(int_param(params, "since", 0, 0, INT64_MAX));
    const std::uint64_t first = bus.first_kept_seq();
    // Events older than the kept window are gone; say so rather than
    // pretend the stream is complete.
    const bool missed = has_since && first > 0 && since + 1 < first;
    if (!follow) {
        c->send(protocol::result(id, {{"events", bus.since(has_since ? since : 0)},
                                      {"last_seq", bus.last_seq()},
                                      {"missed", missed}}));
        return;
    }
    c->send(protocol::result(
        id, {{"following", true}, {"last_seq", bus.last_seq()}, {"missed", missed}}));
    if (has_since) {
        for (const auto& event : bus.since(since)) {
            c->send(protocol::stream_frame(id, "event", event));
        }
    }
    std::weak_ptr<Connection> weak = c;
    const auto token = bus.subscribe([weak, id](const json& event) {
        if (auto connection = weak.lock()) {
            connection->send(protocol::stream_frame(id, "event", event));
        }
    });
    c->on_close([this, token] { server_.events().unsubscribe(token); });
}

void Requests::down(const Reply& c, const json& id, const json& params) {
    std::optional<std::chrono::milliseconds> timeout;
    if (params.contains("timeout_ms")) {
        timeout = std::chrono::milliseconds(int_param(params, "timeout_ms", 0, 0, 3'600'000));
    }
    if (server_.shutting_down()) {
        throw BadParams{errors::shutting_down, "the server is already shutting down"};
    }
    std::weak_ptr<Connection> weak = c;
    server_.shutdown(timeout, [weak, id] {
        if (auto connection = weak.lock()) {
            connection->send(protocol::result(id, {{"stopped", true}, {"pid", ::getpid()}}));
        }
    });
}

void Requests::reload(const Reply& c, const json& id, const json&) {
    if (server_.shutting_down()) {
        throw BadParams{errors::shutting_down, "the server is shutting down"};
    }
    const auto result = server_.reload();
    if (!result.ok) {
        throw BadParams{errors::invalid_workspace, result.error};
    }
    c->send(protocol::result(id, {{"added", result.added},
                                  {"removed", result.removed},
                                  {"changed", result.changed},
                                  {"unchanged", result.unchanged}}));
}

void Requests::send(const Reply& c, const json& id, const json& params) {
    Deliveries::SendRequest request;
    request.to_inbox = bool_param(params, "to_inbox");
    if (params.contains("reply_to")) {
        request.reply_to = string_param(params, "reply_to");
    }
    // A reply goes to the original sender and a message for the inbox
    // may name no worker; anything else needs a target.
    if (params.contains("to") || (request.reply_to.empty() && !request.to_inbox)) {
        request.target = string_param(params, "to");
    }
    if (params.contains("ttl_ms")) {
        request.ttl =
            std::chrono::milliseconds(int_param(params, "ttl_ms", 0, 1, 366LL * 24 * 3600 * 1000));
    }
    request.body = string_param(params, "body");
    request.from = params.contains("from") ? string_param(params, "from") : "user";
    request.key = params.contains("key") ? string_param(params, "key") : "";
    if (request.from.empty() || request.from.size() > 64 ||
        request.from.find_first_of(" \t\n\r[]\x1b") != std::string::npos) {
        throw BadParams{errors::invalid_argument,
                        "\"from\" must be a short name without spaces or brackets"};
    }
    const auto seq = server_.events().last_seq();
    auto sent = server_.deliveries().send(request);
    if (auto* error = std::get_if<Deliveries::SendError>(&sent)) {
        throw BadParams{error->code, error->message};
    }
    json deliveries = json::array();
    for (const auto& s : std::get<std::vector<Deliveries::Sent>>(sent)) {
        json entry = {{"id", s.id}, {"to", s.to}, {"existing", s.existing}};
        if (!s.inboxed.empty()) {
            entry["inboxed"] = s.inboxed;
        }
        if (s.reply > 0) {
            entry["reply"] = s.reply;
            entry["repeat"] = s.reply > 1;
            entry["to_client"] = s.to_client;
        }
        deliveries.push_back(std::move(entry));
    }
    c->send(protocol::result(id, {{"deliveries", deliveries}, {"since", seq}}));
}

void Requests::pending(const Reply& c, const json& id, const json& params) {
    std::string worker;
    if (params.contains("worker")) {
        worker = worker_param(server_, params).name();
    }
    c->send(protocol::result(id, {{"deliveries", server_.deliveries().pending(worker)}}));
}

void Requests::hold(const Reply& c, const json& id, const json& params) {
    auto& w = worker_param(server_, params);
    server_.deliveries().dispatcher(w.name())->hold();
    c->send(protocol::result(id, worker_json(server_, w)));
}

void Requests::release(const Reply& c, const json& id, const json& params) {
    auto& w = worker_param(server_, params);
    server_.deliveries().dispatcher(w.name())->release();
    c->send(protocol::result(id, worker_json(server_, w)));
}

void Requests::cancel(const Reply& c, const json& id, const json& params) {
    const std::string delivery = string_param(params, "id");
    if (auto error = server_.deliveries().cancel(delivery)) {
        throw BadParams{error->code, error->message};
    }
    c->send(protocol::result(id, {{"cancelled", delivery}}));
}

void Requests::nudge(const Reply& c, const json& id, const json& params) {
    const std::string delivery = string_param(params, "id");
    if (auto error = server_.deliveries().nudge(delivery)) {
        throw BadParams{error->code, error->message};
    }
    c->send(protocol::result(id, {{"nudged", delivery}}));
}

void Requests::inbox(const Reply& c, const json& id, const json&) {
    c->send(protocol::result(id, {{"deliveries", server_.deliveries().inbox()},
                                  {"capacity", server_.workspace().store.inbox_capacity}}));
}

void Requests::dispatch(const Reply& c, const json& id, const json& params) {
    const std::string delivery = string_param(params, "id");
    const std::string worker = string_param(params, "worker");
    if (auto error = server_.deliveries().dispatch(delivery, worker)) {
        throw BadParams{error->code, error->message};
    }
    c->send(protocol::result(id, {{"id", delivery}, {"to", worker}}));
}

namespace {

json reply_json(const delivery::Delivery& reply) {
    return {{"id", reply.id},
            {"reply_to", reply.reply_to},
            {"from", reply.from},
            {"to", reply.to},
            {"body", reply.body},
            {"reply", reply.reply_number},
            {"repeat", reply.reply_number > 1},
            {"created_at", delivery::epoch_ms(reply.created_at)}};
}

} // namespace

void Requests::wait_reply(const Reply& c, const json& id, const json& params) {
    const std::string delivery = string_param(params, "id");
    std::weak_ptr<Connection> weak = c;
    auto waited =
        server_.deliveries().wait_reply(delivery, [weak, id](const delivery::Delivery& reply) {
            if (auto connection = weak.lock()) {
                connection->send(protocol::result(id, reply_json(reply)));
            }
        });
    if (auto* error = std::get_if<Deliveries::CancelError>(&waited)) {
        throw BadParams{error->code, error->message};
    }
    auto& wait = std::get<Deliveries::ReplyWait>(waited);
    if (wait.reply) {
        c->send(protocol::result(id, reply_json(*wait.reply)));
        return;
    }
    c->on_close([this, token = wait.token] { server_.deliveries().cancel_wait(token); });
}

void Requests::history(const Reply& c, const json& id, const json& params) {
    std::string worker;
    if (params.contains("worker")) {
        // A worker that has left the workspace still has its history.
        worker = string_param(params, "worker");
    }
    long long since = 0;
    if (params.contains("since")) {
        if (!params["since"].is_number_integer()) {
            throw BadParams{errors::invalid_argument,
                            "\"since\" must be a time in milliseconds since the epoch"};
        }
        since = params["since"].get<long long>();
    }
    const auto from = delivery::SystemClock::time_point(std::chrono::milliseconds(since));
    c->send(protocol::result(id, {{"deliveries", server_.deliveries().history(worker, from)}}));
}

void Requests::attach(const Reply& c, const json& id, const json& params) {
    auto panes = panes_param(server_, params);
    std::vector<std::string> names;
    for (const auto& w : server_.workers()) {
        names.push_back(w->name());
    }
    c->send(protocol::result(id, {{"attached", true},
                                  {"workspace", server_.workspace().name},
                                  {"workers", names},
                                  {"prefix", server_.workspace().attach.prefix}}));
    server_.attach().open(c, id, std::move(panes));
}

void Requests::attach_view(const Reply& c, const json& id, const json& params) {
    auto panes = panes_param(server_, params);
    if (!server_.attach().set_panes(c->id(), std::move(panes))) {
        throw BadParams{errors::invalid_argument, "this connection is not attached; send "
                                                  "\"attach\" first"};
    }
    c->send(protocol::result(id, {{"panes", params["panes"].size()}}));
}

void Requests::attach_input(const Reply& c, const json& id, const json& params) {
    const auto bytes = protocol::base64_decode(string_param(params, "data"));
    if (!bytes) {
        throw BadParams{errors::invalid_argument, "\"data\" must be base64"};
    }
    // Without an acknowledgement a keystroke costs the client one wakeup
    // instead of two on its way to the echo; errors are still answered.
    const bool ack = !params.contains("ack") || bool_param(params, "ack");
    if (auto error = write_input(c->id(), string_param(params, "worker"), *bytes,
                                 bool_param(params, "keystroke"))) {
        throw BadParams{error->code, error->message};
    }
    if (ack) {
        c->send(protocol::result(id, {{"bytes", bytes->size()}}));
    }
}

std::optional<Requests::InputError> Requests::write_input(std::uint64_t connection,
                                                          const std::string& worker,
                                                          std::string_view bytes, bool keystroke) {
    try {
        auto& w = named_worker(server_, worker);
        if (w.state() != worker::State::Running) {
            return InputError{errors::not_running, "worker \"" + w.name() + "\" is " +
                                                       std::string(worker::to_string(w.state())) +
                                                       ", not running"};
        }
        if (!server_.attach().input(connection, w, bytes, keystroke)) {
            return InputError{errors::invalid_argument, "this connection is not attached; send "
                                                        "\"attach\" first"};
        }
    } catch (const BadParams& bad) {
        return InputError{bad.code, bad.message};
    }
    return std::nullopt;
}

void Requests::attach_scrollback(const Reply& c, const json& id, const json& params) {
    auto& w = worker_param(server_, params);
    const auto& screen = w.screen();
    const auto kept = static_cast<long long>(screen.scrollback_size());
    const auto count = int_param(params, "count", 100, 1, 10'000);
    const auto before = int_param(params, "before", kept, 0, kept);
    const auto first = std::max<long long>(0, before - count);
    json lines = json::array();
    for (auto index = first; index < before; ++index) {
        lines.push_back(encode_scrollback_row(screen, static_cast<std::size_t>(index)));
    }
    json result = {
        {"worker", w.name()}, {"scrollback", kept}, {"first", first}, {"lines", std::move(lines)}};
    if (bool_param(params, "screen")) {
        // The screen as it is now, with the lines above: one consistent
        // picture, where frames already sent may lag behind.
        json rows = json::array();
        for (int row = 0; row < screen.rows(); ++row) {
            rows.push_back(encode_screen_row(screen, row));
        }
        result["cols"] = screen.cols();
        result["screen"] = std::move(rows);
    }
    c->send(protocol::result(id, std::move(result)));
}

void Requests::attach_terminal(const Reply& c, const json& id, const json& params) {
    string_param(params, "tty");
    if (!params.contains("device") || !params["device"].is_number_unsigned()) {
        throw BadParams{errors::invalid_argument,
                        "\"device\" must be the terminal's device number (st_rdev)"};
    }
    if (params.contains("prefix") &&
        (!params["prefix"].is_string() ||
         !util::prefix_key_bytes(params["prefix"].get<std::string>()))) {
        throw BadParams{errors::invalid_argument,
                        "\"prefix\" must be a key written like C-b, C-a, C-Space or M-a"};
    }
    auto* hosted = server_.hosted_attaches();
    if (hosted == nullptr) {
        throw BadParams{errors::terminal_unavailable, "this server has no control socket"};
    }
    if (auto error = hosted->open(c, id, params)) {
        throw BadParams{errors::terminal_unavailable, *error};
    }
}

void Requests::attach_terminal_resize(const Reply& c, const json& id, const json&) {
    auto* hosted = server_.hosted_attaches();
    if (hosted == nullptr || !hosted->resized(c->id())) {
        throw BadParams{errors::invalid_argument, "this connection has handed over no terminal; "
                                                  "send \"attach_terminal\" first"};
    }
    c->send(protocol::result(id, {{"resized", true}}));
}

void Requests::attach_terminal_end(const Reply& c, const json& id, const json& params) {
    const auto status = int_param(params, "status", 0, 0, 255);
    const std::string message =
        params.contains("message") ? string_param(params, "message") : std::string();
    auto* hosted = server_.hosted_attaches();
    if (hosted == nullptr || !hosted->hosting(c->id())) {
        throw BadParams{errors::invalid_argument, "this connection has handed over no terminal; "
                                                  "send \"attach_terminal\" first"};
    }
    // Answered before the session's `detached` frame, which follows.
    c->send(protocol::result(id, {{"ending", true}}));
    hosted->end(c->id(), static_cast<int>(status), message);
}

} // namespace sb::server
