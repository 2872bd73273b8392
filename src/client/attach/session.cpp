#include "client/attach/session.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <optional>
#include <unistd.h>

#include "client/attach/scrollback_sync.hpp"
#include "protocol/screen_wire.hpp"
#include "util/prefix_key.hpp"

namespace sb::client::attach {

namespace {

using nlohmann::json;

constexpr std::chrono::milliseconds frame_interval{8};
// How long an Escape waits for the rest of a sequence before it counts as
// the Escape key.
constexpr std::chrono::milliseconds escape_time{25};
constexpr std::chrono::milliseconds message_time{3000};

// Splits bytes into keys: one escape sequence, or one UTF-8 character.
std::vector<std::string> split_keys(std::string_view bytes) {
    std::vector<std::string> keys;
    std::size_t at = 0;
    while (at < bytes.size()) {
        std::size_t length = 1;
        const auto lead = static_cast<unsigned char>(bytes[at]);
        if (lead == 0x1b && at + 1 < bytes.size()) {
            if (bytes[at + 1] == '[') {
                length = 2;
                while (at + length < bytes.size() &&
                       (static_cast<unsigned char>(bytes[at + length]) < 0x40 ||
                        static_cast<unsigned char>(bytes[at + length]) > 0x7e)) {
                    ++length;
                }
                length = std::min(length + 1, bytes.size() - at);
            } else if (bytes[at + 1] == 'O' && at + 2 < bytes.size()) {
                length = 3;
            } else {
                length = 2;
            }
        } else if (lead >= 0xf0) {
            length = 4;
        } else if (lead >= 0xe0) {
            length = 3;
        } else if (lead >= 0xc0) {
            length = 2;
        }
        length = std::min(length, bytes.size() - at);
        keys.emplace_back(bytes.substr(at, length));
        at += length;
    }
    return keys;
}

Style status_style() {
    Style style;
    style.foreground = {.kind = protocol::WireColor::Kind::Indexed, .red = 0};
    style.background = {.kind = protocol::WireColor::Kind::Indexed, .red = 2};
    return style;
}

Style reverse_style() {
    Style style;
    style.attributes = Style::kReverse;
    return style;
}

Style bold_style() {
    Style style;
    style.attributes = Style::kBold;
    return style;
}

std::string outcome_text(const json& delivery) {
    if (!delivery.is_object() || !delivery.contains("type")) {
        return {};
    }
    const std::string type = delivery.value("type", "");
    std::string what;
    if (type == "delivery_verified") {
        what = delivery.value("verification", "") == "echo" ? "verified" : "unverified";
    } else if (type == "delivery_failed") {
        what = "failed";
    } else if (type == "delivery_dropped") {
        what = "dropped";
    } else {
        what = type;
    }
    return "last " + delivery.value("id", std::string("?")) + " " + what + " -> " +
           delivery.value("worker", "");
}

const char* help_lines[] = {
    "d          detach",
    "n / p      next / previous worker",
    "0-9        worker by position",
    "w          choose a worker from a list (Space marks workers for t)",
    "t          tile all (or the marked) workers / one worker",
    "z          zoom the focused tile",
    "[          scrollback (arrows, PgUp/PgDn, / search, n next, q leaves)",
    "s          send a message to the focused worker",
    "?          this help",
    "prefix     twice: send the prefix key itself",
};

} // namespace

Session::Session(uv_loop_t* loop, SessionLink& link, SessionOptions options,
                 SessionTerminal terminal)
    : loop_(loop), link_(link), options_(std::move(options)), io_(terminal),
      output_(loop, terminal.out_fd, !terminal.hosted),
      terminal_(
          terminal.in_fd, [this](std::string_view data) { output_.write(data); }, !terminal.hosted),
      renderer_(detect_color_depth(options_.colorterm ? options_.colorterm->c_str() : nullptr,
                                   options_.term ? options_.term->c_str() : nullptr)) {}

Session::~Session() = default;

int Session::run(std::string& farewell) {
    start({});
    if (!finished_) {
        uv_run(loop_, UV_RUN_DEFAULT);
    }
    terminal_.restore();
    farewell = farewell_;
    return status_;
}

void Session::start(EndHandler on_end) {
    on_end_ = std::move(on_end);
    if (!terminal_.active()) {
        quit(1, "switchboard attach: standard input is " + terminal_.error() +
                    "; attach needs a terminal");
        return;
    }
    output_.on_drained([this] { arm_render(); });
    output_.on_failed([this] { quit(1, "[the terminal went away]"); });
    link_.listen([this](const json& message) { handle_message(message); },
                 [this](protocol::ScreenFrame& frame) { handle_screen(frame); },
                 [this](const std::string& why) {
                     quit(0, why.empty() ? "[server exited]" : "[lost the server: " + why + "]");
                 });
    request("ls", json::object(), [this](const json& response) { on_listed(response); });
}

void Session::on_listed(const json& ls) {
    if (ls.contains("error")) {
        quit(1, "switchboard attach: " + ls["error"].value("message", "ls failed"));
        return;
    }
    workspace_ = ls["result"].value("workspace", "");
    for (const auto& w : ls["result"]["workers"]) {
        workers_.push_back({.name = w.value("name", ""),
                            .state = w.value("state", ""),
                            .queue = w.value("queue", 0),
                            .stalled = w.value("stalled", 0),
                            .held = w.value("held", false)});
    }
    if (workers_.empty()) {
        quit(1, "switchboard attach: workspace \"" + workspace_ + "\" has no workers");
        return;
    }
    if (!options_.worker.empty()) {
        const auto found = std::find_if(workers_.begin(), workers_.end(),
                                        [&](const auto& w) { return w.name == options_.worker; });
        if (found == workers_.end()) {
            std::string names;
            for (const auto& w : workers_) {
                names += (names.empty() ? "" : ", ") + w.name;
            }
            quit(1, "switchboard attach: no worker \"" + options_.worker + "\" in workspace \"" +
                        workspace_ + "\" (workers: " + names + ")");
            return;
        }
        focused_ = static_cast<std::size_t>(found - workers_.begin());
    }
    TerminalMode::size(io_.out_fd, rows_, cols_);
    layout();
    json panes = json::array();
    for (const auto& tile : tiles_) {
        panes.push_back({{"worker", tile.worker},
                         {"cols", std::max(10, tile.cols)},
                         {"rows", std::max(5, tile.rows)}});
    }
    frame_timer_ = std::make_unique<util::Timer>(loop_);
    escape_timer_ = std::make_unique<util::Timer>(loop_);
    message_timer_ = std::make_unique<util::Timer>(loop_);
    stdin_poll_ = std::make_unique<util::Poll>(loop_, io_.in_fd);
    stdin_poll_->start(UV_READABLE, [this](int, int) { on_stdin_readable(); });
    if (!io_.hosted) {
        winch_ = std::make_unique<util::Signal>(loop_);
        winch_->start(SIGWINCH, [this] { terminal_resized(); });
        term_ = std::make_unique<util::Signal>(loop_);
        term_->start(SIGTERM, [this] { quit(1, "[terminated]"); });
        hup_ = std::make_unique<util::Signal>(loop_);
        hup_->start(SIGHUP, [this] { quit(1, ""); });
    }
    stream_id_ = request("attach", {{"panes", panes}}, [this](const json& response) {
        if (response.contains("error")) {
            quit(1, "switchboard attach: " + response["error"].value("message", "refused"));
            return;
        }
        const auto& result = response["result"];
        if (!options_.prefix_given) {
            const std::string name = result.value("prefix", std::string("C-b"));
            if (auto bytes = util::prefix_key_bytes(name)) {
                options_.prefix_name = name;
                options_.prefix = *bytes;
            }
        }
    });
    schedule_render();
}

void Session::end(int status, std::string farewell) {
    quit(status, std::move(farewell));
}

void Session::quit(int status, std::string farewell) {
    if (finished_) {
        return;
    }
    finished_ = true;
    status_ = status;
    farewell_ = std::move(farewell);
    link_.stop();
    stdin_poll_.reset();
    winch_.reset();
    term_.reset();
    hup_.reset();
    frame_timer_.reset();
    escape_timer_.reset();
    message_timer_.reset();
    // What was not drawn yet is not owed: the terminal gets its settings back.
    output_.discard();
    terminal_.restore();
    output_.finish(100);
    if (on_end_) {
        auto on_end = std::move(on_end_);
        on_end_ = nullptr;
        on_end(status_, farewell_);
    }
}

std::uint64_t Session::request(const std::string& method, json params,
                               std::function<void(const json&)> on_response) {
    if (finished_) {
        return 0;
    }
    const auto id = link_.next_id();
    if (on_response) {
        waiting_[id] = std::move(on_response);
    }
    if (auto error = link_.send(id, method, std::move(params))) {
        waiting_.erase(id);
        quit(1, "[lost the server: " + *error + "]");
        return 0;
    }
    return id;
}

void Session::handle_message(const json& message) {
    if (message.contains("stream")) {
        if (message.contains("screen")) {
            if (auto frame = protocol::screen_frame_from_json(message["screen"])) {
                handle_screen(*frame);
            }
        } else if (message.contains("status")) {
            const auto& status = message["status"];
            workspace_ = status.value("workspace", workspace_);
            const std::string focused_name_before = focused_name();
            std::vector<WorkerStatus> workers;
            for (const auto& w : status.value("workers", json::array())) {
                workers.push_back({.name = w.value("name", ""),
                                   .state = w.value("state", ""),
                                   .queue = w.value("queue", 0),
                                   .stalled = w.value("stalled", 0),
                                   .held = w.value("held", false)});
            }
            last_delivery_ = status.value("last_delivery", json());
            if (!workers.empty()) {
                const bool same =
                    workers.size() == workers_.size() &&
                    std::equal(workers.begin(), workers.end(), workers_.begin(),
                               [](const auto& a, const auto& b) { return a.name == b.name; });
                workers_ = std::move(workers);
                if (!same) {
                    // A reload changed the workers: keep the focus on the same name.
                    focused_ = 0;
                    for (std::size_t i = 0; i < workers_.size(); ++i) {
                        if (workers_[i].name == focused_name_before) {
                            focused_ = i;
                        }
                    }
                    layout();
                    send_view();
                }
            }
            schedule_render();
        }
        return;
    }
    if (message.contains("id") && message["id"].is_number_unsigned()) {
        const auto id = message["id"].get<std::uint64_t>();
        const auto found = waiting_.find(id);
        if (found != waiting_.end()) {
            auto handler = std::move(found->second);
            waiting_.erase(found);
            handler(message);
            return;
        }
        if (message.contains("error")) {
            show_message(message["error"].value("message", "error"));
        }
    }
}

void Session::handle_screen(protocol::ScreenFrame& frame) {
    if (frame.typed && show_typed(frame)) {
        return;
    }
    auto& pane = models_[frame.worker];
    if (!pane.apply(std::move(frame))) {
        return;
    }
    if (pane.changed_all || pane.title_changed) {
        schedule_render();
    } else {
        schedule_rows(frame.worker, pane.changed_rows, pane.changed_spans);
    }
    if (frame.worker == focused_name() && !history_.empty() &&
        (overlay_ == Overlay::Scrollback || overlay_ == Overlay::Search)) {
        // New output while the person reads the scrollback.
        if (scrollback_fetching_) {
            scrollback_stale_ = true;
        } else {
            fetch_scrollback(256, false);
        }
    }
}

bool Session::show_typed(const protocol::ScreenFrame& frame) {
    // Only when a render would draw exactly this: nothing else waits, no
    // overlay, the canvas is the terminal's size.
    if (finished_ || overlay_ != Overlay::None || redraw_all_ || output_.busy() || !frame_timer_ ||
        frame_timer_->active() || workers_.empty() || frame.worker != focused_name() ||
        canvas_.rows != rows_ || canvas_.cols != cols_ || frame.lines.size() != 1 ||
        frame.spans.size() != 1 ||
        std::any_of(dirty_rows_.begin(), dirty_rows_.end(), [](auto dirty) { return dirty; })) {
        return false;
    }
    const auto found = models_.find(frame.worker);
    const auto tile = std::find_if(tiles_.begin(), tiles_.end(),
                                   [&frame](const Tile& t) { return t.worker == frame.worker; });
    if (found == models_.end() || tile == tiles_.end()) {
        return false;
    }
    PaneModel& pane = found->second;
    const auto& [row, cells] = frame.lines.front();
    const auto [first, end] = frame.spans.front();
    // The text starts at the pane's cursor and ends where the frame's is,
    // within the tile.
    if (!pane.received || pane.rows != frame.rows || pane.cols != frame.cols ||
        pane.cursor.row != row || pane.cursor.col != first || !pane.cursor.visible ||
        frame.cursor.row != row || frame.cursor.col != end || !frame.cursor.visible ||
        end - first != static_cast<int>(cells.size()) || row >= tile->rows || end >= tile->cols) {
        return false;
    }
    const int at_row = tile->top + row;
    const int at_col = tile->left + first;
    // The canvas's cursor is the pane's (place_cursor), where the text goes.
    if (canvas_.cursor.row != at_row || canvas_.cursor.col != at_col || !canvas_.cursor.visible) {
        return false;
    }
    auto text = renderer_.typed(at_row, at_col, cells);
    if (!text) {
        return false;
    }
    std::copy(cells.begin(), cells.end(),
              pane.lines[static_cast<std::size_t>(row)].begin() + first);
    pane.cursor.col = end;
    // The canvas as a render would compose it.
    draw_tile_row(canvas_, *tile, row, true, first, end);
    place_cursor(canvas_, *tile);
    last_render_ = std::chrono::steady_clock::now();
    ++typed_frames_;
    output_.write(*text);
    return true;
}

void Session::send_view() {
    json panes = json::array();
    for (const auto& tile : tiles_) {
        panes.push_back({{"worker", tile.worker},
                         {"cols", std::clamp(tile.cols, 10, 1000)},
                         {"rows", std::clamp(tile.rows, 5, 500)}});
    }
    request("attach_view", {{"panes", panes}});
}

void Session::layout() {
    tiles_.clear();
    const int body = std::max(1, rows_ - 1);
    const auto shown = tiled_workers();
    if (!tiled_ || zoomed_ || shown.size() <= 1) {
        tiles_.push_back({.worker = focused_name(), .rows = body, .cols = cols_});
        return;
    }
    const int count = static_cast<int>(shown.size());
    const int grid_cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(count))));
    const int grid_rows = (count + grid_cols - 1) / grid_cols;
    int index = 0;
    for (int gr = 0; gr < grid_rows; ++gr) {
        const int top = body * gr / grid_rows;
        const int bottom = body * (gr + 1) / grid_rows;
        const int in_row = std::min(grid_cols, count - index);
        for (int gc = 0; gc < in_row; ++gc, ++index) {
            // One column between tiles for the border.
            const int left = gc == 0 ? 0 : cols_ * gc / in_row + 1;
            const int right = cols_ * (gc + 1) / in_row;
            tiles_.push_back({.worker = workers_[shown[static_cast<std::size_t>(index)]].name,
                              .top = top + 1,
                              .left = left,
                              .rows = std::max(1, bottom - top - 1),
                              .cols = std::max(1, right - left),
                              .titled = true});
        }
    }
}

std::vector<std::size_t> Session::tiled_workers() const {
    std::vector<std::size_t> shown;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
        if (marked_.contains(workers_[i].name)) {
            shown.push_back(i);
        }
    }
    if (shown.empty()) {
        for (std::size_t i = 0; i < workers_.size(); ++i) {
            shown.push_back(i);
        }
    }
    return shown;
}

bool Session::in_tiled_view(std::size_t index) const {
    const auto shown = tiled_workers();
    return std::find(shown.begin(), shown.end(), index) != shown.end();
}

void Session::set_tiled(bool tiled) {
    tiled_ = tiled;
    zoomed_ = false;
    if (tiled_ && !in_tiled_view(focused_)) {
        focus(tiled_workers().front());
    }
    layout();
    send_view();
    schedule_render();
}

void Session::terminal_resized() {
    if (finished_ || !frame_timer_) {
        return;
    }
    TerminalMode::size(io_.out_fd, rows_, cols_);
    layout();
    send_view();
    renderer_.invalidate();
    schedule_render();
}

void Session::focus(std::size_t index) {
    if (index >= workers_.size() || index == focused_) {
        return;
    }
    // The application in a pane hears that it lost or got the person.
    if (const auto* old = model(focused_name());
        old && old->modes.focus_reporting && outer_focus_) {
        write_to(focused_name(), "\x1b[O", false);
    }
    focused_ = index;
    if (tiled_ && !zoomed_ && !in_tiled_view(index)) {
        // A worker that is not among the tiles is shown alone.
        tiled_ = false;
    }
    if (const auto* now = model(focused_name());
        now && now->modes.focus_reporting && outer_focus_) {
        write_to(focused_name(), "\x1b[I", false);
    }
    if (!tiled_ || zoomed_) {
        layout();
        send_view();
    }
    schedule_render();
}

void Session::on_stdin_readable() {
    if (finished_) {
        return;
    }
    char buffer[4096];
    const ssize_t n = ::read(io_.in_fd, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return;
    }
    if (n <= 0) {
        quit(1, "[the terminal went away]");
        return;
    }
    escape_timer_->stop();
    handle_events(parser_.feed(std::string_view(buffer, static_cast<std::size_t>(n))));
    if (!finished_ && parser_.pending()) {
        escape_timer_->start(escape_time, [this] { handle_events(parser_.flush()); });
    }
}

void Session::send_to_focused(const std::string& bytes, bool keystroke) {
    write_to(focused_name(), bytes, keystroke);
}

void Session::write_to(const std::string& worker, const std::string& bytes, bool keystroke) {
    if (bytes.empty() || finished_) {
        return;
    }
    std::string error;
    if (link_.write_input(worker, bytes, keystroke, error)) {
        if (!error.empty()) {
            show_message(error);
        }
        return;
    }
    // Unacknowledged: only an error is answered (handle_message shows it).
    request("attach_input", {{"worker", worker},
                             {"data", protocol::base64_encode(bytes)},
                             {"keystroke", keystroke},
                             {"ack", false}});
}

void Session::handle_events(std::vector<InputEvent> events) {
    for (auto& event : events) {
        if (finished_) {
            return;
        }
        if (overlay_ != Overlay::None) {
            if (event.kind == InputEvent::Kind::Bytes) {
                for (const auto& key : split_keys(event.bytes)) {
                    handle_overlay_key(key, event);
                    if (finished_ || overlay_ == Overlay::None) {
                        break;
                    }
                }
            } else if (event.kind == InputEvent::Kind::KeypadKey) {
                handle_overlay_key(encode_keypad_key(event.key, WorkerModes{}), event);
            } else if (event.kind == InputEvent::Kind::Key) {
                handle_overlay_key(encode_key(event, WorkerModes{}), event);
            } else {
                handle_overlay_key("", event);
            }
            continue;
        }
        handle_normal(event);
    }
}

void Session::handle_normal(const InputEvent& event) {
    const PaneModel* pane = model(focused_name());
    const WorkerModes modes = pane != nullptr ? pane->modes : WorkerModes{};
    switch (event.kind) {
    case InputEvent::Kind::Bytes: {
        std::string_view rest = event.bytes;
        std::string forward;
        while (!rest.empty()) {
            if (prefix_armed_) {
                prefix_armed_ = false;
                auto keys = split_keys(rest);
                std::string key = keys.front();
                if (rest.substr(0, options_.prefix.size()) == options_.prefix) {
                    key = options_.prefix;
                }
                rest.remove_prefix(key.size());
                send_to_focused(forward, true);
                forward.clear();
                handle_prefix_command(key);
                if (finished_ || overlay_ != Overlay::None) {
                    // The rest of what was typed goes to the overlay.
                    if (!rest.empty()) {
                        handle_events(
                            {{.kind = InputEvent::Kind::Bytes, .bytes = std::string(rest)}});
                    }
                    return;
                }
                continue;
            }
            const auto at = rest.find(options_.prefix);
            if (at == std::string_view::npos) {
                forward += rest;
                break;
            }
            forward += rest.substr(0, at);
            rest.remove_prefix(at + options_.prefix.size());
            prefix_armed_ = true;
            schedule_render();
        }
        send_to_focused(forward, true);
        return;
    }
    case InputEvent::Kind::Key: {
        // The prefix and the commands after it are known by their legacy
        // bytes, however the person's terminal sent them (C-b may come as
        // `CSI 98 ; 5 u`).
        const std::string legacy = encode_key(event, WorkerModes{});
        if (prefix_armed_) {
            prefix_armed_ = false;
            if (legacy == options_.prefix) {
                schedule_render();
                send_to_focused(encode_key(event, modes), true);
                return;
            }
            handle_prefix_command(legacy);
            return;
        }
        if (legacy == options_.prefix) {
            prefix_armed_ = true;
            schedule_render();
            return;
        }
        send_to_focused(encode_key(event, modes), true);
        return;
    }
    case InputEvent::Kind::CursorKey:
        prefix_armed_ = false;
        send_to_focused(encode_cursor_key(event.key, event.modifier, modes), true);
        return;
    case InputEvent::Kind::KeypadKey:
        prefix_armed_ = false;
        send_to_focused(encode_keypad_key(event.key, modes), true);
        return;
    case InputEvent::Kind::Paste:
        prefix_armed_ = false;
        send_to_focused(encode_paste(event.bytes, modes), true);
        return;
    case InputEvent::Kind::FocusIn:
    case InputEvent::Kind::FocusOut:
        outer_focus_ = event.kind == InputEvent::Kind::FocusIn;
        if (modes.focus_reporting) {
            send_to_focused(outer_focus_ ? "\x1b[I" : "\x1b[O", false);
        }
        return;
    case InputEvent::Kind::Mouse: {
        const int row = event.row - 1;
        const int col = event.col - 1;
        for (const auto& tile : tiles_) {
            if (row < tile.top || row >= tile.top + tile.rows || col < tile.left ||
                col >= tile.left + tile.cols) {
                continue;
            }
            if (tile.worker != focused_name()) {
                if (!event.release && (event.button & 32) == 0) {
                    for (std::size_t i = 0; i < workers_.size(); ++i) {
                        if (workers_[i].name == tile.worker) {
                            focus(i);
                        }
                    }
                }
                return;
            }
            send_to_focused(encode_mouse(event, col - tile.left + 1, row - tile.top + 1, modes),
                            true);
            return;
        }
        return;
    }
    }
}

void Session::handle_prefix_command(const std::string& key) {
    schedule_render();
    if (key == options_.prefix) {
        send_to_focused(options_.prefix, true);
        return;
    }
    if (key == "d") {
        quit(0, "[detached (from workspace " + workspace_ + ")]");
        return;
    }
    if (key == "n" || key == "p") {
        // In the tiled view, among the tiles.
        std::vector<std::size_t> order;
        if (tiled_ && !zoomed_) {
            order = tiled_workers();
        } else {
            for (std::size_t i = 0; i < workers_.size(); ++i) {
                order.push_back(i);
            }
        }
        const auto at = std::find(order.begin(), order.end(), focused_);
        const auto position = at == order.end() ? 0 : static_cast<std::size_t>(at - order.begin());
        const auto count = order.size();
        focus(order[key == "n" ? (position + 1) % count : (position + count - 1) % count]);
        return;
    }
    if (key.size() == 1 && key[0] >= '0' && key[0] <= '9') {
        focus(static_cast<std::size_t>(key[0] - '0'));
        return;
    }
    if (key == "t") {
        set_tiled(!tiled_);
        return;
    }
    if (key == "z") {
        if (tiled_) {
            zoomed_ = !zoomed_;
            layout();
            send_view();
        }
        return;
    }
    if (key == "?") {
        overlay_ = Overlay::Help;
        return;
    }
    if (key == "w") {
        overlay_ = Overlay::Chooser;
        chooser_at_ = focused_;
        return;
    }
    if (key == "s") {
        overlay_ = Overlay::Prompt;
        prompt_.clear();
        return;
    }
    if (key == "[") {
        enter_scrollback();
        return;
    }
}

void Session::handle_overlay_key(const std::string& key, const InputEvent& event) {
    schedule_render();
    const bool escape = key == "\x1b";
    const bool enter = key == "\r" || key == "\n";
    const bool backspace = key == "\x7f" || key == "\x08";
    const bool up = (event.kind == InputEvent::Kind::CursorKey && event.key == 'A') || key == "k";
    const bool down = (event.kind == InputEvent::Kind::CursorKey && event.key == 'B') || key == "j";
    switch (overlay_) {
    case Overlay::None:
        return;
    case Overlay::Help:
        overlay_ = Overlay::None;
        return;
    case Overlay::Chooser:
        if (up && chooser_at_ > 0) {
            --chooser_at_;
        } else if (down && chooser_at_ + 1 < workers_.size()) {
            ++chooser_at_;
        } else if (enter) {
            overlay_ = Overlay::None;
            focus(chooser_at_);
        } else if (key.size() == 1 && key[0] >= '0' && key[0] <= '9') {
            overlay_ = Overlay::None;
            focus(static_cast<std::size_t>(key[0] - '0'));
        } else if (key == " ") {
            // Marks the worker for the tiled view, or unmarks it.
            const std::string& name = workers_[chooser_at_].name;
            if (!marked_.erase(name)) {
                marked_.insert(name);
            }
            if (tiled_) {
                set_tiled(true);
            }
        } else if (key == "t") {
            overlay_ = Overlay::None;
            if (!marked_.empty() && !marked_.contains(workers_[chooser_at_].name)) {
                chooser_at_ = tiled_workers().front();
            }
            focus(chooser_at_);
            set_tiled(true);
        } else if (escape || key == "q") {
            overlay_ = Overlay::None;
        }
        return;
    case Overlay::Prompt:
    case Overlay::Search: {
        const bool is_search = overlay_ == Overlay::Search;
        if (event.kind == InputEvent::Kind::Paste) {
            prompt_ += event.bytes;
            return;
        }
        if (escape || key == "\x03") {
            overlay_ = is_search ? Overlay::Scrollback : Overlay::None;
            return;
        }
        if (backspace) {
            while (!prompt_.empty() &&
                   (static_cast<unsigned char>(prompt_.back()) & 0xc0) == 0x80) {
                prompt_.pop_back();
            }
            if (!prompt_.empty()) {
                prompt_.pop_back();
            }
            return;
        }
        if (enter) {
            if (is_search) {
                overlay_ = Overlay::Scrollback;
                if (!prompt_.empty()) {
                    search_ = prompt_;
                }
                search(false);
                return;
            }
            overlay_ = Overlay::None;
            if (!prompt_.empty()) {
                const std::string to = focused_name();
                request("send", {{"to", to}, {"body", prompt_}}, [this, to](const json& response) {
                    if (response.contains("error")) {
                        show_message(response["error"].value("message", "not sent"));
                        return;
                    }
                    const auto& sent = response["result"]["deliveries"];
                    show_message("queued " +
                                 (sent.empty() ? std::string("?") : sent[0].value("id", "?")) +
                                 " for " + to);
                });
            }
            return;
        }
        if (!key.empty() && static_cast<unsigned char>(key[0]) >= 0x20 && key[0] != 0x7f) {
            prompt_ += key;
        }
        return;
    }
    case Overlay::Scrollback: {
        const int page = std::max(1, scrollback_height());
        if (up) {
            scroll_by(1);
        } else if (down) {
            scroll_by(-1);
        } else if (key == "\x1b[5~" || key == "\x02") {
            scroll_by(page);
        } else if (key == "\x1b[6~" || key == "\x06" || key == " ") {
            scroll_by(-page);
        } else if (key == "g") {
            scroll_by(static_cast<int>(history_.size()));
        } else if (key == "G") {
            scroll_by(-static_cast<int>(history_.size()));
        } else if (key == "/") {
            overlay_ = Overlay::Search;
            prompt_.clear();
        } else if (key == "n") {
            search(true);
        } else if (escape || key == "q") {
            overlay_ = Overlay::None;
            history_.clear();
            history_screen_rows_ = 0;
            scrollback_stale_ = false;
            match_line_ = -1;
        }
        return;
    }
    }
}

void Session::enter_scrollback() {
    if (!scrollback_fetching_) {
        fetch_scrollback(10000, true);
    }
}

void Session::fetch_scrollback(int count, bool entering) {
    const std::string worker = focused_name();
    scrollback_fetching_ = true;
    request("attach_scrollback", {{"worker", worker}, {"count", count}, {"screen", true}},
            [this, worker, count, entering](const json& response) {
                scrollback_fetching_ = false;
                if (finished_) {
                    return;
                }
                if (response.contains("error")) {
                    show_message(response["error"].value("message", "no scrollback"));
                    return;
                }
                const bool open = overlay_ == Overlay::Scrollback || overlay_ == Overlay::Search;
                if (worker != focused_name() || (entering ? open : !open)) {
                    return;
                }
                int more = count;
                if (!apply_scrollback(response["result"], entering, more)) {
                    fetch_scrollback(more, false);
                    return;
                }
                if (entering) {
                    scroll_offset_ = 0;
                    match_line_ = -1;
                    overlay_ = Overlay::Scrollback;
                }
                schedule_render();
                if (scrollback_stale_) {
                    scrollback_stale_ = false;
                    fetch_scrollback(256, false);
                }
            });
}

bool Session::apply_scrollback(const json& result, bool entering, int& count) {
    const int cols = result.value("cols", cols_);
    const long long kept = result.value("scrollback", 0LL);
    std::vector<std::vector<Cell>> lines;
    for (const auto& line : result.value("lines", json::array())) {
        lines.push_back(
            decode_line(protocol::base64_decode(line.get<std::string>()).value_or(""), cols));
    }
    std::vector<std::vector<Cell>> screen;
    for (const auto& line : result.value("screen", json::array())) {
        screen.push_back(
            decode_line(protocol::base64_decode(line.get<std::string>()).value_or(""), cols));
    }
    const auto old_total = static_cast<int>(history_.size());
    std::size_t fresh = lines.size();
    if (entering) {
        history_.clear();
    } else {
        const std::size_t known = history_.size() - static_cast<std::size_t>(history_screen_rows_);
        if (kept > scrollback_kept_) {
            // The kept lines grew by exactly what scrolled away since.
            const auto grown = static_cast<std::size_t>(kept - scrollback_kept_);
            if (grown > lines.size() && count < 10000) {
                count = static_cast<int>(std::min<long long>(10000, kept - scrollback_kept_));
                return false;
            }
            fresh = std::min(grown, lines.size());
        } else if (auto found = new_line_count(history_, known, lines,
                                               static_cast<long long>(lines.size()) >= kept)) {
            // The kept lines are at their limit (the oldest go as new ones
            // come), so what is new is found by where the known lines end.
            fresh = *found;
        } else if (static_cast<long long>(lines.size()) < kept && count < 10000) {
            count = std::min(10000, count * 4);
            return false;
        }
        history_.resize(known);
    }
    scrollback_kept_ = kept;
    history_.insert(history_.end(), std::make_move_iterator(lines.end() - static_cast<long>(fresh)),
                    std::make_move_iterator(lines.end()));
    history_screen_rows_ = static_cast<int>(screen.size());
    history_.insert(history_.end(), std::make_move_iterator(screen.begin()),
                    std::make_move_iterator(screen.end()));
    if (!entering) {
        // The lines shown stay where they are: the view moves up by what
        // came below it.
        scroll_offset_ += static_cast<int>(history_.size()) - old_total;
        // The client's copy is bounded like the server's scrollback.
        constexpr std::size_t most_kept = 20000;
        const std::size_t limit = most_kept + static_cast<std::size_t>(history_screen_rows_);
        if (history_.size() > limit) {
            const auto drop = static_cast<int>(history_.size() - limit);
            history_.erase(history_.begin(), history_.begin() + drop);
            match_line_ = match_line_ >= drop ? match_line_ - drop : -1;
        }
        scroll_by(0);
    }
    return true;
}

int Session::scrollback_height() const {
    // The focused worker's tile, which scrollback mode takes over.
    for (const auto& tile : tiles_) {
        if (tile.worker == focused_name()) {
            return tile.rows;
        }
    }
    return std::max(1, rows_ - 1);
}

void Session::scroll_by(int lines) {
    const int height = scrollback_height();
    const int most = std::max(0, static_cast<int>(history_.size()) - height);
    scroll_offset_ = std::clamp(scroll_offset_ + lines, 0, most);
}

void Session::search(bool from_current) {
    if (search_.empty()) {
        return;
    }
    const int height = scrollback_height();
    const int total = static_cast<int>(history_.size());
    const int top = std::max(0, total - height - scroll_offset_);
    // Backwards (older) from the line above the last match, or from the
    // bottom of what is shown.
    int start = from_current && match_line_ >= 0 ? match_line_ - 1 : top + height - 1;
    start = std::min(start, total - 1);
    for (int line = start; line >= 0; --line) {
        const auto& cells = history_[static_cast<std::size_t>(line)];
        std::string text;
        std::vector<int> columns;
        for (int col = 0; col < static_cast<int>(cells.size()); ++col) {
            const auto& cell = cells[static_cast<std::size_t>(col)];
            if (cell.width == 0) {
                continue;
            }
            const std::string glyph = cell.text.empty() ? std::string(" ") : cell.text;
            for (std::size_t i = 0; i < glyph.size(); ++i) {
                columns.push_back(col);
            }
            text += glyph;
        }
        const auto at = text.find(search_);
        if (at == std::string::npos) {
            continue;
        }
        match_line_ = line;
        match_col_ = columns[at];
        const auto end_byte = at + search_.size() - 1;
        match_width_ = columns[end_byte] - match_col_ + 1;
        // The match's line in the middle of the view when it can be.
        const int wanted_top = std::max(0, line - height / 2);
        scroll_offset_ = std::clamp(total - height - wanted_top, 0, std::max(0, total - height));
        return;
    }
    show_message("not found: " + search_);
}

void Session::show_message(std::string message) {
    message_ = std::move(message);
    if (message_timer_) {
        message_timer_->start(message_time, [this] {
            message_.clear();
            schedule_render();
        });
    }
    schedule_render();
}

const PaneModel* Session::model(const std::string& worker) const {
    const auto found = models_.find(worker);
    return found == models_.end() ? nullptr : &found->second;
}

void Session::schedule_render() {
    redraw_all_ = true;
    arm_render();
}

void Session::schedule_rows(const std::string& worker, const std::vector<int>& rows,
                            const std::vector<std::pair<int, int>>& spans) {
    for (const auto& tile : tiles_) {
        if (tile.worker != worker) {
            continue;
        }
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const int row = rows[i];
            const auto [first, end] = i < spans.size() ? spans[i] : std::pair{0, tile.cols};
            if (row >= 0 && row < tile.rows && first < tile.cols) {
                mark_dirty(tile.top + row, tile.left + first, tile.left + std::min(end, tile.cols));
            }
        }
    }
    // The cursor, modes and status line are looked at on every render.
    arm_render();
}

void Session::mark_dirty(int row, int first, int end) {
    if (row < 0 || row >= rows_) {
        return;
    }
    dirty_rows_.resize(static_cast<std::size_t>(rows_), 0);
    dirty_spans_.resize(static_cast<std::size_t>(rows_));
    auto& span = dirty_spans_[static_cast<std::size_t>(row)];
    auto& dirty = dirty_rows_[static_cast<std::size_t>(row)];
    span = dirty != 0 ? std::pair{std::min(span.first, first), std::max(span.second, end)}
                      : std::pair{first, end};
    dirty = 1;
}

void Session::arm_render() {
    if (finished_ || !frame_timer_ || frame_timer_->active()) {
        return;
    }
    const auto since = std::chrono::steady_clock::now() - last_render_;
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(frame_interval - since);
    // Always through the timer, so that frames that arrive together (a burst)
    // are drawn once; the timer draws whatever is newest when it fires.
    frame_timer_->start(std::max(wait, std::chrono::milliseconds(0)), [this] { render_now(); });
}

void Session::render_now() {
    // While the terminal has not taken the last frame, what changes waits
    // (in `dirty_rows_`, `redraw_all_`) and is drawn once it has.
    if (finished_ || output_.busy()) {
        return;
    }
    last_render_ = std::chrono::steady_clock::now();
    const PaneModel* pane = model(focused_name());
    std::string mouse = pane != nullptr ? pane->modes.mouse : "none";
    if (tiled_ && !zoomed_ && mouse == "none") {
        mouse = "click"; // a click picks a tile
    }
    if (overlay_ != Overlay::None) {
        mouse = "none";
    }
    terminal_.set_mouse(mouse);
    dirty_rows_.resize(static_cast<std::size_t>(rows_), 0);
    dirty_spans_.resize(static_cast<std::size_t>(rows_));
    const bool partial =
        !redraw_all_ && overlay_ == Overlay::None && canvas_.rows == rows_ && canvas_.cols == cols_;
    if (!partial) {
        canvas_ = compose();
        drawn_status_ = status_text();
        output_.write(renderer_.render(canvas_));
    } else {
        // A pane's rows changed and nothing else: compose those rows, the
        // cursor, the title and the status line only.
        canvas_.cursor.visible = false;
        for (const auto& tile : tiles_) {
            const bool focused = tile.worker == focused_name();
            for (int row = 0; row < tile.rows; ++row) {
                const auto at = static_cast<std::size_t>(tile.top + row);
                if (dirty_rows_[at] != 0) {
                    // Only the columns that changed: the rest of the row is
                    // on the canvas already.
                    const auto [first, end] = dirty_spans_[at];
                    draw_tile_row(canvas_, tile, row, focused, std::max(0, first - tile.left),
                                  std::max(0, end - tile.left));
                }
            }
            if (focused) {
                place_cursor(canvas_, tile);
            }
        }
        if (const PaneModel* focused_pane = model(focused_name())) {
            canvas_.title = focused_pane->title.empty() ? focused_name() + " - " + workspace_
                                                        : focused_pane->title;
        }
        // The status line is composed again only when what it says changed.
        auto status = status_text();
        if (status != drawn_status_) {
            draw_status(canvas_, status);
            mark_dirty(rows_ - 1, 0, cols_);
            drawn_status_ = std::move(status);
        }
        output_.write(renderer_.render(canvas_, &dirty_rows_, &dirty_spans_));
    }
    redraw_all_ = false;
    dirty_rows_.assign(static_cast<std::size_t>(rows_), 0);
}

std::string Session::worker_label(const WorkerStatus& w, bool focused) const {
    std::string label = w.name;
    if (focused) {
        label += '*';
    }
    if (w.state == "failed") {
        label += '!';
    } else if (w.state == "exited" || w.state == "stopped") {
        label += '-';
    } else if (w.state == "starting" || w.state == "restarting") {
        label += '~';
    }
    if (w.queue > 0) {
        label += ' ' + std::to_string(w.queue);
    }
    if (w.held) {
        label += " held";
    }
    if (w.stalled > 0) {
        label += " " + std::to_string(w.stalled) + " stalled";
    }
    return label;
}

Session::StatusText Session::status_text() const {
    StatusText text{.left = "[" + workspace_ + "] "};
    if (overlay_ == Overlay::Prompt) {
        text.left += "send to " + focused_name() + ": " + prompt_;
        text.prompt = true;
        return text;
    }
    if (overlay_ == Overlay::Search) {
        text.left += "search: " + prompt_;
        text.prompt = true;
        return text;
    }
    std::string& left = text.left;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
        left += std::to_string(i) + ":" + worker_label(workers_[i], i == focused_) + "  ";
    }
    std::string& right = text.right;
    if (!message_.empty()) {
        right = message_;
    } else if (overlay_ == Overlay::Scrollback) {
        const int height = scrollback_height();
        right = "[scrollback " + std::to_string(scroll_offset_) + "/" +
                std::to_string(std::max(0, static_cast<int>(history_.size()) - height)) +
                "] q leaves";
    } else {
        right = outcome_text(last_delivery_);
        if (prefix_armed_) {
            right += (right.empty() ? "" : " | ") + options_.prefix_name + " ...";
        } else {
            right += (right.empty() ? "" : " | ") + options_.prefix_name + " ? help";
        }
    }
    return text;
}

void Session::draw_status(Canvas& canvas, const StatusText& text) const {
    const int row = canvas.rows - 1;
    const Style style = status_style();
    canvas.fill(row, 0, canvas.cols, style);
    const std::string& left = text.left;
    const std::string& right = text.right;
    if (text.prompt) {
        const int end = canvas.put_text(row, 0, left, style);
        canvas.cursor = {.row = row, .col = std::min(end, canvas.cols - 1), .visible = true};
        return;
    }
    canvas.put_text(row, 0, left, style);
    // UTF-8 aware width of the right part (one cell per code point).
    int width = 0;
    for (const char c : right) {
        width += (static_cast<unsigned char>(c) & 0xc0) != 0x80 ? 1 : 0;
    }
    const int start = std::max(static_cast<int>(left.size()), canvas.cols - width - 1);
    canvas.put_text(row, start, right, style);
}

void Session::draw_tile_row(Canvas& canvas, const Tile& tile, int r, bool focused, int first,
                            int end) const {
    const PaneModel* pane = model(tile.worker);
    const bool scrollback =
        focused && (overlay_ == Overlay::Scrollback || overlay_ == Overlay::Search);
    const int total = static_cast<int>(history_.size());
    const std::vector<Cell>* line = nullptr;
    int line_index = -1;
    if (scrollback) {
        line_index = std::max(0, total - tile.rows - scroll_offset_) + r;
        if (line_index < total) {
            line = &history_[static_cast<std::size_t>(line_index)];
        }
    } else if (pane != nullptr && r < pane->rows) {
        line = &pane->lines[static_cast<std::size_t>(r)];
    }
    end = end < 0 ? tile.cols : std::min(end, tile.cols);
    for (int c = std::max(0, first); c < end; ++c) {
        Cell& out = canvas.at(tile.top + r, tile.left + c);
        if (line == nullptr || c >= static_cast<int>(line->size())) {
            out = Cell{};
            continue;
        }
        out = (*line)[static_cast<std::size_t>(c)];
        // Half a wide glyph cut by the tile's edge is shown blank.
        if ((out.width == 2 && c + 1 >= tile.cols) || (out.width == 0 && c == 0)) {
            out = Cell{.style = out.style};
        }
        if (scrollback && line_index == match_line_ && c >= match_col_ &&
            c < match_col_ + match_width_) {
            out.style.attributes ^= Style::kReverse;
        }
    }
}

void Session::place_cursor(Canvas& canvas, const Tile& tile) const {
    const PaneModel* pane = model(tile.worker);
    if (overlay_ == Overlay::Scrollback || overlay_ == Overlay::Search || pane == nullptr ||
        !pane->received) {
        return;
    }
    canvas.cursor = pane->cursor;
    canvas.cursor.row += tile.top;
    canvas.cursor.col += tile.left;
    if (pane->cursor.row >= tile.rows || pane->cursor.col >= tile.cols) {
        canvas.cursor.visible = false;
    }
}

void Session::draw_tile(Canvas& canvas, const Tile& tile, bool focused) const {
    const PaneModel* pane = model(tile.worker);
    for (int r = 0; r < tile.rows; ++r) {
        draw_tile_row(canvas, tile, r, focused);
    }
    if (tile.titled) {
        const int row = tile.top - 1;
        const Style style = focused ? bold_style() : Style{};
        canvas.fill(row, tile.left, tile.cols, style, "─");
        std::string title = " " + tile.worker;
        if (pane != nullptr && !pane->title.empty()) {
            title += ": " + pane->title;
        }
        title += " ";
        canvas.put_text(row, tile.left + 1, title, focused ? reverse_style() : Style{},
                        tile.left + tile.cols);
        if (tile.left > 0) {
            for (int r = row; r < tile.top + tile.rows; ++r) {
                canvas.fill(r, tile.left - 1, 1, Style{}, r == row ? "┬" : "│");
            }
        }
    }
    if (focused) {
        place_cursor(canvas, tile);
    }
}

void Session::draw_box(Canvas& canvas, const std::vector<std::string>& lines,
                       const std::string& title) const {
    int width = static_cast<int>(title.size()) + 4;
    for (const auto& line : lines) {
        width = std::max(width, static_cast<int>(line.size()) + 4);
    }
    width = std::min(width, canvas.cols);
    const int height = std::min(static_cast<int>(lines.size()) + 2, canvas.rows - 1);
    const int top = std::max(0, (canvas.rows - 1 - height) / 2);
    const int left = std::max(0, (canvas.cols - width) / 2);
    const Style style = reverse_style();
    for (int r = 0; r < height; ++r) {
        canvas.fill(top + r, left, width, style);
    }
    canvas.put_text(top, left + 2, title, style, left + width);
    for (int i = 0; i + 2 < height + 1 && i < static_cast<int>(lines.size()); ++i) {
        if (top + 1 + i >= top + height) {
            break;
        }
        canvas.put_text(top + 1 + i, left + 2, lines[static_cast<std::size_t>(i)], style,
                        left + width);
    }
    canvas.cursor.visible = false;
}

Canvas Session::compose() const {
    Canvas canvas(rows_, cols_);
    canvas.cursor.visible = false;
    for (const auto& tile : tiles_) {
        draw_tile(canvas, tile, tile.worker == focused_name());
    }
    if (const PaneModel* pane = model(focused_name())) {
        canvas.title = pane->title.empty() ? focused_name() + " - " + workspace_ : pane->title;
    }
    if (overlay_ == Overlay::Scrollback) {
        canvas.cursor.visible = false;
    }
    if (overlay_ == Overlay::Help) {
        std::vector<std::string> lines(std::begin(help_lines), std::end(help_lines));
        lines.insert(lines.begin(), "prefix " + options_.prefix_name + ", then:");
        draw_box(canvas, lines, "switchboard keys (any key closes)");
    } else if (overlay_ == Overlay::Chooser) {
        std::vector<std::string> lines;
        for (std::size_t i = 0; i < workers_.size(); ++i) {
            lines.push_back(std::string(i == chooser_at_ ? "> " : "  ") +
                            (marked_.contains(workers_[i].name) ? "+ " : "  ") + std::to_string(i) +
                            ": " + worker_label(workers_[i], i == focused_) + "  " +
                            workers_[i].state);
        }
        draw_box(canvas, lines, "choose a worker (Enter; Space marks, t tiles marked; q)");
    }
    draw_status(canvas, status_text());
    return canvas;
}

} // namespace sb::client::attach
