#include "server/attach.hpp"

#include <algorithm>
#include <cstring>

#include "protocol/protocol.hpp"
#include "protocol/screen_wire.hpp"
#include "server/server.hpp"
#include "term/unicode.hpp"
#include "util/log.hpp"

namespace sb::server {

namespace {

using nlohmann::json;

std::shared_ptr<spdlog::logger> logger() {
    static auto log = sb::log::get("attach");
    return log;
}

// How often a client that is behind is looked at again, and how old the
// status line may be when a frame of output goes out (it is composed again
// then).
constexpr std::chrono::milliseconds tick_interval{200};

protocol::WireColor wire_color(const term::Color& color) {
    switch (color.kind()) {
    case term::Color::Kind::Default:
        return {};
    case term::Color::Kind::Indexed:
        return {.kind = protocol::WireColor::Kind::Indexed, .red = color.index()};
    case term::Color::Kind::Rgb: {
        const auto rgb = color.rgb();
        return {.kind = protocol::WireColor::Kind::Rgb,
                .red = rgb.red,
                .green = rgb.green,
                .blue = rgb.blue};
    }
    }
    return {};
}

protocol::WireStyle wire_style(const term::Style& style) {
    protocol::WireStyle out{.foreground = wire_color(style.foreground),
                            .background = wire_color(style.background)};
    const auto& a = style.attributes;
    out.attributes = static_cast<std::uint8_t>((a.bold ? protocol::WireStyle::kBold : 0) |
                                               (a.italic ? protocol::WireStyle::kItalic : 0) |
                                               (a.blink ? protocol::WireStyle::kBlink : 0) |
                                               (a.reverse ? protocol::WireStyle::kReverse : 0) |
                                               (a.strike ? protocol::WireStyle::kStrike : 0) |
                                               (a.faint ? protocol::WireStyle::kFaint : 0));
    out.underline = static_cast<std::uint8_t>(a.underline);
    return out;
}

const char* mouse_name(term::MouseTracking tracking) {
    switch (tracking) {
    case term::MouseTracking::None:
        return "none";
    case term::MouseTracking::Click:
        return "click";
    case term::MouseTracking::Drag:
        return "drag";
    case term::MouseTracking::Motion:
        return "motion";
    }
    return "none";
}

const char* encoding_name(term::MouseEncoding encoding) {
    switch (encoding) {
    case term::MouseEncoding::Default:
        return "default";
    case term::MouseEncoding::Utf8:
        return "utf8";
    case term::MouseEncoding::Sgr:
        return "sgr";
    case term::MouseEncoding::Urxvt:
        return "urxvt";
    }
    return "default";
}

const char* shape_name(term::CursorShape shape) {
    switch (shape) {
    case term::CursorShape::Block:
        return "block";
    case term::CursorShape::Underline:
        return "underline";
    case term::CursorShape::Bar:
        return "bar";
    }
    return "block";
}

// A frame of the worker's screen without its rows.
protocol::ScreenFrame screen_meta(const worker::Worker& worker) {
    const auto& screen = worker.screen();
    const auto cursor = screen.cursor();
    const auto& modes = screen.modes();
    return {
        .worker = worker.name(),
        .cols = screen.cols(),
        .rows = screen.rows(),
        .cursor = {.row = cursor.row,
                   .col = cursor.col,
                   .visible = cursor.visible,
                   .shape = shape_name(cursor.shape),
                   .blink = cursor.blink},
        .title = screen.title(),
        .alternate_screen = screen.alternate_screen(),
        .reverse_video = screen.reverse_video(),
        .state = std::string(worker::to_string(worker.state())),
        .modes = {.application_cursor_keys = modes.application_cursor_keys,
                  .application_keypad = modes.application_keypad,
                  .bracketed_paste = modes.bracketed_paste,
                  .focus_reporting = modes.focus_reporting,
                  .mouse = mouse_name(modes.mouse_tracking),
                  .mouse_encoding = encoding_name(modes.mouse_encoding),
                  .kitty_keyboard_flags = modes.kitty_keyboard_flags,
                  .modify_other_keys = modes.modify_other_keys},
    };
}

// Cells [first, end) of a row; those past the last one written are plain
// blanks.
std::vector<protocol::WireCell> wire_cells(const term::Row& row, int first, int end) {
    std::vector<protocol::WireCell> cells(static_cast<std::size_t>(std::max(end - first, 0)));
    const auto source = row.cells(); // empty while the row was never written
    const int used = std::min({row.used(), end, static_cast<int>(source.size())});
    // Neighbouring cells mostly share a style: it is converted once a run.
    term::Style last_style;
    protocol::WireStyle last_wire;
    for (int col = first; col < used; ++col) {
        const term::Cell& from = source[static_cast<std::size_t>(col)];
        auto& cell = cells[static_cast<std::size_t>(col - first)];
        cell.width = static_cast<std::uint8_t>(from.continuation() ? 0 : (from.wide() ? 2 : 1));
        if (!(from.style == last_style)) {
            last_style = from.style;
            last_wire = wire_style(from.style);
        }
        cell.style = last_wire;
        const char32_t code = from.code_point();
        if (code == 0 || from.continuation()) {
            continue;
        }
        if (code < 0x80 && !from.has_marks()) {
            cell.text.assign(1, static_cast<char>(code));
            continue;
        }
        term::append_utf8(cell.text, code);
        for (const char32_t mark : row.marks(col)) {
            term::append_utf8(cell.text, mark);
        }
    }
    return cells;
}

std::vector<protocol::WireCell> wire_cells(const term::Row& row, int cols) {
    return wire_cells(row, 0, cols);
}

std::vector<protocol::WireCell> screen_row_cells(const term::Screen& screen, int row) {
    return wire_cells(screen.screen_row(row), screen.cols());
}

// What a frame shows of a row: cells [first, end) as they are now.
void remember_shown(std::vector<std::vector<term::Cell>>& shown, const term::Screen& screen,
                    int row, int first, int end) {
    const term::Row& cells = screen.screen_row(row);
    auto& line = shown[static_cast<std::size_t>(row)];
    for (int col = first; col < end; ++col) {
        line[static_cast<std::size_t>(col)] = cells.cell(col);
    }
}

} // namespace

bool typed_at(const term::Row& row, const std::vector<term::Cell>& shown, int cols, int first,
              int end) {
    if (first < 0 || end <= first || end > cols || static_cast<int>(shown.size()) < cols) {
        return false;
    }
    for (int col = first; col < end; ++col) {
        const term::Cell& now = row.cell(col);
        const char32_t code = now.code_point();
        if (code < 0x20 || code > 0x7e || now.wide() || now.continuation() || now.has_marks()) {
            return false;
        }
    }
    // The other cells as shown. Byte for byte first: they were copied from
    // this row, so they are the same bytes unless they changed (cells that
    // differ only in padding are compared again, field by field).
    const auto cells = row.cells();
    const auto same_bytes = [&](int from, int to) {
        return std::memcmp(cells.data() + from, shown.data() + from,
                           static_cast<std::size_t>(to - from) * sizeof(term::Cell)) == 0;
    };
    if (static_cast<int>(cells.size()) >= cols && !row.any_marks() && same_bytes(0, first) &&
        same_bytes(end, cols)) {
        return true;
    }
    for (int col = 0; col < cols; ++col) {
        const term::Cell& now = row.cell(col);
        // A cell with marks counts as changed: the marks live beside the row.
        if ((col < first || col >= end) &&
            (!(now == shown[static_cast<std::size_t>(col)]) || now.has_marks())) {
            return false;
        }
    }
    return true;
}

std::string encode_screen_row(const term::Screen& screen, int row) {
    return protocol::base64_encode(protocol::encode_row(screen_row_cells(screen, row)));
}

std::string encode_scrollback_row(const term::Screen& screen, std::size_t index) {
    const term::Row row = screen.scrollback_row(index);
    return protocol::base64_encode(protocol::encode_row(wire_cells(row, row.cols())));
}

AttachHub::AttachHub(uv_loop_t* loop, Server& server)
    : loop_(loop), server_(server), flush_timer_(loop), tick_timer_(loop) {
    event_token_ = server_.events().subscribe([this](const json& event) { on_event(event); });
}

AttachHub::~AttachHub() {
    server_.events().unsubscribe(event_token_);
}

void AttachHub::open(const std::shared_ptr<Connection>& connection, const json& stream_id,
                     std::vector<Pane> panes) {
    const auto id = connection->id();
    const bool existed = sessions_.contains(id);
    Session session{.connection = connection, .stream_id = stream_id};
    sessions_[id] = std::move(session);
    set_panes(id, std::move(panes));
    if (!existed) {
        connection->on_close([this, id] { close(id); });
    }
}

bool AttachHub::set_panes(std::uint64_t connection, std::vector<Pane> panes) {
    const auto found = sessions_.find(connection);
    if (found == sessions_.end()) {
        return false;
    }
    auto& session = found->second;
    std::vector<PaneState> states;
    for (auto& pane : panes) {
        states.push_back(PaneState{.pane = std::move(pane)});
    }
    session.panes = std::move(states);
    session.last_status.clear();
    make_active(connection);
    schedule_flush();
    return true;
}

bool AttachHub::input(std::uint64_t connection, worker::Worker& worker, std::string_view bytes,
                      bool keystroke) {
    if (!sessions_.contains(connection)) {
        return false;
    }
    const bool held_before = typing_hold(worker);
    if (keystroke) {
        worker.note_keystroke(bytes);
    }
    worker.write(bytes);
    if (active_ != connection) {
        make_active(connection);
    }
    if (keystroke && !held_before) {
        // The status line shows the hold at once. Later keys of the same
        // spell of typing change nothing it shows: they cost no flush
        // before their echo comes.
        status_dirty_ = true;
        schedule_flush();
    }
    return true;
}

void AttachHub::make_active(std::uint64_t connection) {
    active_ = connection;
    const auto found = sessions_.find(connection);
    if (found != sessions_.end()) {
        apply_sizes(found->second);
    }
}

void AttachHub::apply_sizes(const Session& session) {
    for (const auto& state : session.panes) {
        auto* w = server_.find(state.pane.worker);
        if (w == nullptr) {
            continue;
        }
        if (w->screen().cols() != state.pane.cols || w->screen().rows() != state.pane.rows) {
            w->resize(state.pane.cols, state.pane.rows);
        }
    }
}

void AttachHub::close(std::uint64_t connection) {
    sessions_.erase(connection);
    if (active_ == connection) {
        active_ = 0;
    }
    if (sessions_.empty()) {
        tick_timer_.stop();
        flush_timer_.stop();
    }
}

void AttachHub::on_screen_changed(worker::Worker& worker) {
    if (server_.find(worker.name()) != &worker) {
        return;
    }
    const auto& screen = worker.screen();
    bool any = false;
    if (const auto damaged = screen.damaged_rows()) {
        for (auto& [id, session] : sessions_) {
            for (auto& state : session.panes) {
                if (state.pane.worker != worker.name() ||
                    state.dirty.size() != static_cast<std::size_t>(screen.rows())) {
                    continue;
                }
                for (int row = damaged->first; row <= damaged->last; ++row) {
                    if (screen.row_damaged(row)) {
                        state.dirty[static_cast<std::size_t>(row)] = 1;
                    }
                }
            }
        }
        any = true;
    }
    worker.clear_screen_damage();
    bool shown = false;
    for (const auto& [id, session] : sessions_) {
        for (const auto& state : session.panes) {
            shown = shown || state.pane.worker == worker.name();
        }
    }
    // A typed frame only for a worker a session shows: for the others no
    // frame is built at all.
    if ((any || shown) && !(shown && send_typed(worker))) {
        schedule_flush();
    }
}

std::optional<std::pair<int, int>> AttachHub::typed_span(const PaneState& state,
                                                         const worker::Worker& worker,
                                                         protocol::ScreenFrame& meta) const {
    const auto& screen = worker.screen();
    const auto rows = static_cast<std::size_t>(screen.rows());
    if (state.full || !state.last_meta || state.shown.size() != rows ||
        state.dirty.size() != rows || state.screen_serial != worker.screen_serial() ||
        state.screen_cols != screen.cols() || state.screen_rows != screen.rows()) {
        return std::nullopt;
    }
    // Everything but the cursor's column as the last frame had it, the
    // cursor further right on the same row.
    const auto& last = *state.last_meta;
    const int row = meta.cursor.row;
    const int first = last.cursor.col;
    const int end = meta.cursor.col;
    meta.cursor.col = first;
    const bool same = meta.same_meta(last);
    meta.cursor.col = end;
    if (!same || !meta.cursor.visible || end <= first || first < 0 || end >= screen.cols()) {
        return std::nullopt;
    }
    for (std::size_t r = 0; r < rows; ++r) {
        if (state.dirty[r] != 0 && static_cast<int>(r) != row) {
            return std::nullopt;
        }
    }
    if (!typed_at(screen.screen_row(row), state.shown[static_cast<std::size_t>(row)], screen.cols(),
                  first, end)) {
        return std::nullopt;
    }
    return std::pair{first, end};
}

bool AttachHub::send_typed(worker::Worker& worker) {
    if (flush_timer_.active() || status_dirty_) {
        return false; // a frame waits: this change goes with it
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_frame_ < frame_interval) {
        return false;
    }
    protocol::ScreenFrame meta = screen_meta(worker);
    struct Target {
        std::uint64_t session;
        std::size_t pane;
        std::pair<int, int> span;
    };
    std::vector<Target> targets;
    for (auto& [id, session] : sessions_) {
        for (std::size_t pane = 0; pane < session.panes.size(); ++pane) {
            const auto& state = session.panes[pane];
            if (state.pane.worker != worker.name()) {
                continue;
            }
            const auto connection = session.connection.lock();
            if (!connection || !connection->open() || !connection->takes_frames() ||
                session.behind) {
                return false;
            }
            const auto span = typed_span(state, worker, meta);
            if (!span) {
                return false;
            }
            targets.push_back({id, pane, *span});
        }
    }
    if (targets.empty()) {
        return false;
    }
    const auto& screen = worker.screen();
    const int row = meta.cursor.row;
    for (const auto& target : targets) {
        // A session handed a frame may end (and leave sessions_) at once.
        const auto found = sessions_.find(target.session);
        if (found == sessions_.end() || target.pane >= found->second.panes.size()) {
            continue;
        }
        auto connection = found->second.connection.lock();
        if (!connection) {
            continue;
        }
        auto& state = found->second.panes[target.pane];
        const auto [first, end] = target.span;
        remember_shown(state.shown, screen, row, first, end);
        state.dirty[static_cast<std::size_t>(row)] = 0;
        state.last_meta = meta;
        protocol::ScreenFrame frame = meta;
        frame.lines.emplace_back(row, wire_cells(screen.screen_row(row), first, end));
        frame.spans.emplace_back(first, end);
        frame.typed = true;
        connection->send_screen(found->second.stream_id, frame);
    }
    last_frame_ = now;
    return true;
}

void AttachHub::on_event(const json& event) {
    const std::string type = event.value("type", "");
    // Outcomes only: what happens after the echo shows as each worker's
    // stalled count.
    if (type == "delivery_verified" || type == "delivery_failed" || type == "delivery_dropped") {
        last_delivery_ = {{"worker", event.value("worker", "")}, {"type", type}};
        if (event.contains("verification")) {
            last_delivery_["verification"] = event["verification"];
        }
        if (event.contains("reason")) {
            last_delivery_["reason"] = event["reason"];
        }
        if (event.contains("id")) {
            last_delivery_["id"] = event["id"];
        }
    }
    if (!sessions_.empty()) {
        status_dirty_ = true;
        schedule_flush();
    }
}

void AttachHub::schedule_flush() {
    if (sessions_.empty() || flush_timer_.active()) {
        return;
    }
    const auto since = std::chrono::steady_clock::now() - last_frame_;
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(frame_interval - since);
    // From a loop callback, so that everything else this turn of the loop
    // does (the rest of a burst of output) lands in the same frame.
    flush_timer_.start(std::max(wait, std::chrono::milliseconds(0)), [this] { flush(); });
}

void AttachHub::flush() {
    flush_timer_.stop();
    const auto now = std::chrono::steady_clock::now();
    if (now - last_status_check_ >= tick_interval) {
        status_dirty_ = true;
    }
    std::vector<std::uint64_t> ids;
    for (const auto& [id, session] : sessions_) {
        ids.push_back(id);
    }
    for (const auto id : ids) {
        const auto found = sessions_.find(id);
        if (found != sessions_.end()) {
            flush_session(found->second);
        }
    }
    if (status_dirty_) {
        status_dirty_ = false;
        last_status_check_ = now;
    }
    arm_tick();
}

void AttachHub::arm_tick() {
    // Only what has no event of its own: a client that is behind, looked at
    // again each tick, and the end of a typing hold that the status line
    // shows. An attached session that is idle wakes nothing.
    std::optional<std::chrono::milliseconds> wait;
    const auto sooner = [&](std::chrono::milliseconds after) {
        wait = wait ? std::min(*wait, after) : after;
    };
    for (const auto& [id, session] : sessions_) {
        if (session.behind) {
            sooner(tick_interval);
        }
    }
    if (!sessions_.empty()) {
        const auto now = worker::Clock::now();
        for (const auto& w : server_.workers()) {
            if (const auto ends = typing_hold_end(*w); ends && now < *ends) {
                sooner(std::chrono::ceil<std::chrono::milliseconds>(*ends - now) +
                       std::chrono::milliseconds(1));
            }
        }
    }
    if (!wait) {
        tick_timer_.stop();
        return;
    }
    tick_timer_.start(*wait, [this] {
        status_dirty_ = true; // a typing hold may have ended
        flush();
    });
}

void AttachHub::flush_session(Session& session) {
    auto connection = session.connection.lock();
    if (!connection || !connection->open()) {
        return;
    }
    if (connection->queued_bytes() > max_behind_bytes) {
        if (!session.behind) {
            logger()->debug("client {}: {} bytes unread; holding frames until it catches up",
                            connection->id(), connection->queued_bytes());
        }
        session.behind = true;
        return;
    }
    if (session.behind) {
        // What it missed is not replayed: it gets the present, whole.
        session.behind = false;
        for (auto& state : session.panes) {
            state.full = true;
        }
        session.last_status.clear();
    }
    for (auto& state : session.panes) {
        auto* w = server_.find(state.pane.worker);
        if (w == nullptr) {
            continue;
        }
        if (auto frame = pane_frame(state, *w, connection->takes_frames())) {
            connection->send_screen(session.stream_id, *frame);
            last_frame_ = std::chrono::steady_clock::now();
        }
    }
    if (!status_dirty_ && !session.last_status.empty()) {
        return;
    }
    json line = status();
    std::string text = line.dump();
    if (text != session.last_status) {
        session.last_status = std::move(text);
        connection->send(protocol::stream_frame(session.stream_id, "status", std::move(line)));
    }
}

std::optional<protocol::ScreenFrame> AttachHub::pane_frame(PaneState& state, worker::Worker& worker,
                                                           bool spans) {
    const auto& screen = worker.screen();
    if (state.screen_serial != worker.screen_serial() || state.screen_cols != screen.cols() ||
        state.screen_rows != screen.rows()) {
        state.full = true;
    }
    protocol::ScreenFrame frame = screen_meta(worker);
    const bool any_dirty = std::any_of(state.dirty.begin(), state.dirty.end(),
                                       [](std::uint8_t dirty) { return dirty != 0; });
    if (!state.full && !any_dirty && state.last_meta && frame.same_meta(*state.last_meta)) {
        return std::nullopt;
    }
    state.last_meta = frame;
    if (state.full) {
        state.shown.clear();
    }
    const auto rows = static_cast<std::size_t>(screen.rows());
    const bool partial = spans && !state.full && state.shown.size() == rows;
    // What a frame with spans shows of a row: cells [first, end) as they are.
    const auto remember = [&screen, &state](int row, int first, int end) {
        remember_shown(state.shown, screen, row, first, end);
    };
    for (int row = 0; row < screen.rows(); ++row) {
        if (!state.full && state.dirty[static_cast<std::size_t>(row)] == 0) {
            continue;
        }
        const term::Row& cells = screen.screen_row(row);
        if (!partial) {
            frame.lines.emplace_back(row, wire_cells(cells, screen.cols()));
            continue;
        }
        // The columns that differ from what was shown. A cell with marks
        // counts as changed: the marks live beside the row.
        auto& shown = state.shown[static_cast<std::size_t>(row)];
        const auto same = [&cells, &shown](int col) {
            const term::Cell& now = cells.cell(col);
            const term::Cell& was = shown[static_cast<std::size_t>(col)];
            return now == was && !now.has_marks();
        };
        int first = 0;
        int end = screen.cols();
        while (first < end && same(first)) {
            ++first;
        }
        while (end > first && same(end - 1)) {
            --end;
        }
        if (first == end) {
            continue;
        }
        remember(row, first, end);
        frame.lines.emplace_back(row, wire_cells(cells, first, end));
        frame.spans.emplace_back(first, end);
    }
    if (spans && state.shown.size() != rows) {
        // A full frame (or the first): what it shows is the screen now.
        state.shown.assign(rows, std::vector<term::Cell>(static_cast<std::size_t>(screen.cols())));
        for (int row = 0; row < screen.rows(); ++row) {
            remember(row, 0, screen.cols());
        }
    }
    frame.full = state.full;
    state.full = false;
    state.screen_serial = worker.screen_serial();
    state.screen_cols = screen.cols();
    state.screen_rows = screen.rows();
    state.dirty.assign(static_cast<std::size_t>(screen.rows()), 0);
    return frame;
}

std::optional<std::chrono::steady_clock::time_point>
AttachHub::typing_hold_end(const worker::Worker& worker) const {
    const auto* d = server_.deliveries().dispatcher(worker.name());
    const auto keystroke = worker.last_keystroke();
    if (d == nullptr || keystroke.time_since_epoch().count() == 0) {
        return std::nullopt;
    }
    return keystroke + d->settings().hold;
}

bool AttachHub::typing_hold(const worker::Worker& worker) const {
    const auto ends = typing_hold_end(worker);
    return ends && worker::Clock::now() < *ends;
}

json AttachHub::status() const {
    json workers = json::array();
    for (const auto& w : server_.workers()) {
        json entry = {{"name", w->name()}, {"state", std::string(worker::to_string(w->state()))}};
        bool held = false;
        std::size_t queue = 0;
        std::size_t stalled = 0;
        if (auto* d = server_.deliveries().dispatcher(w->name())) {
            queue = d->depth();
            stalled = d->stalled();
            held = d->held() || typing_hold(*w);
        }
        entry["queue"] = queue;
        entry["stalled"] = stalled;
        entry["held"] = held;
        workers.push_back(std::move(entry));
    }
    return {{"workspace", server_.workspace().name},
            {"workers", std::move(workers)},
            {"last_delivery", last_delivery_}};
}

} // namespace sb::server
