#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <uv.h>

#include "client/attach/canvas.hpp"
#include "client/attach/input.hpp"
#include "client/attach/link.hpp"
#include "client/attach/pane_model.hpp"
#include "client/attach/renderer.hpp"
#include "client/attach/tty.hpp"
#include "util/uv.hpp"

namespace sb::client::attach {

struct SessionOptions {
    // The worker to show first; the first of the workspace when empty.
    std::string worker;
    // The prefix key's name (C-b) and bytes; from --prefix when
    // `prefix_given`, otherwise from the workspace (attach.prefix).
    std::string prefix_name = "C-b";
    std::string prefix = "\x02";
    bool prefix_given = false;
    // The person's TERM and COLORTERM (how many colours to draw with).
    std::optional<std::string> term;
    std::optional<std::string> colorterm;
};

// The terminal a session draws on.
struct SessionTerminal {
    int in_fd = 0;
    int out_fd = 1;
    // Run by the server on a terminal a client handed it (attach_terminal):
    // its output does not block, and signals (a resize, SIGTERM) and crashes
    // are the client's to tell.
    bool hosted = false;
};

// `switchboard attach`: shows workers of a workspace in the person's
// terminal (switchboard(1), ATTACH) and sends them what the person types.
class Session {
public:
    // The exit status, with what to print once the terminal is restored.
    using EndHandler = std::function<void(int status, const std::string& farewell)>;

    Session(uv_loop_t* loop, SessionLink& link, SessionOptions options, SessionTerminal terminal);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Runs the loop until the person detaches, the server goes away or a
    // signal ends it: the exit status and the farewell.
    int run(std::string& farewell);
    // Starts on the caller's loop; `on_end` runs once it has ended and the
    // terminal is restored (the session may be destroyed after it returns,
    // not inside it).
    void start(EndHandler on_end);
    // The terminal's size changed.
    void terminal_resized();
    // Ends it from outside (the client that handed over its terminal went).
    void end(int status, std::string farewell);
    // How many `typed` frames it drew as the bare text (show_typed).
    std::uint64_t typed_frames() const { return typed_frames_; }

private:
    enum class Overlay { None, Help, Chooser, Scrollback, Prompt, Search };
    struct Tile {
        std::string worker;
        int top = 0;
        int left = 0;
        int rows = 0;
        int cols = 0;
        bool titled = false;
    };
    struct WorkerStatus {
        std::string name;
        std::string state;
        int queue = 0;
        // Deliveries typed that the worker has not taken (delivery_state).
        int stalled = 0;
        bool held = false;
    };

    // Server side.
    void on_listed(const nlohmann::json& ls);
    void handle_message(const nlohmann::json& message);
    // Takes the frame's rows.
    void handle_screen(protocol::ScreenFrame& frame);
    // Draws a `typed` frame of the focused pane as the bare text when
    // nothing else waits to be drawn; false (nothing changed) otherwise.
    bool show_typed(const protocol::ScreenFrame& frame);
    std::uint64_t request(const std::string& method, nlohmann::json params,
                          std::function<void(const nlohmann::json&)> on_response = {});
    void send_view();

    // Person side.
    void on_stdin_readable();
    void handle_events(std::vector<InputEvent> events);
    void handle_normal(const InputEvent& event);
    void handle_prefix_command(const std::string& key);
    void handle_overlay_key(const std::string& key, const InputEvent& event);
    void send_to_focused(const std::string& bytes, bool keystroke);
    void write_to(const std::string& worker, const std::string& bytes, bool keystroke);
    void focus(std::size_t index);
    void set_tiled(bool tiled);

    // Scrollback.
    void enter_scrollback();
    // Asks for the newest `count` lines of the focused worker's scrollback
    // and its screen: on entering, or to bring in output that came since.
    void fetch_scrollback(int count, bool entering);
    // Takes in the answer; false when it needs `count` more lines first.
    bool apply_scrollback(const nlohmann::json& result, bool entering, int& count);
    void scroll_by(int lines);
    // Rows of the view scrollback mode shows.
    int scrollback_height() const;
    void search(bool from_current);

    // Drawing.
    void layout();
    // Everything is composed again on the next render.
    void schedule_render();
    // Only these rows of a worker's pane changed.
    // Rows of a worker's pane changed, in the columns `spans` gives.
    void schedule_rows(const std::string& worker, const std::vector<int>& rows,
                       const std::vector<std::pair<int, int>>& spans);
    // Marks the columns [first, end) of a terminal row to be drawn again.
    void mark_dirty(int row, int first, int end);
    void arm_render();
    void render_now();
    Canvas compose() const;
    void draw_tile(Canvas& canvas, const Tile& tile, bool focused) const;
    // Columns [first, end) of the tile (all by default).
    void draw_tile_row(Canvas& canvas, const Tile& tile, int row, bool focused, int first = 0,
                       int end = -1) const;
    void place_cursor(Canvas& canvas, const Tile& tile) const;
    // What the status line says: the left part (or a prompt), the right.
    struct StatusText {
        std::string left;
        std::string right;
        bool prompt = false;
        bool operator==(const StatusText&) const = default;
    };
    StatusText status_text() const;
    void draw_status(Canvas& canvas, const StatusText& text) const;
    void draw_box(Canvas& canvas, const std::vector<std::string>& lines,
                  const std::string& title) const;
    const PaneModel* model(const std::string& worker) const;
    const std::string& focused_name() const { return workers_[focused_].name; }
    // The workers the tiled view shows: those marked in the chooser, in the
    // status line's order, or every worker when none is marked.
    std::vector<std::size_t> tiled_workers() const;
    bool in_tiled_view(std::size_t index) const;
    std::string worker_label(const WorkerStatus& w, bool focused) const;
    void show_message(std::string message);

    void quit(int status, std::string farewell);

    uv_loop_t* loop_;
    SessionLink& link_;
    SessionOptions options_;
    SessionTerminal io_;
    TerminalOutput output_;
    TerminalMode terminal_;
    Renderer renderer_;
    InputParser parser_;

    EndHandler on_end_;
    std::unique_ptr<util::Poll> stdin_poll_;
    std::unique_ptr<util::Signal> winch_;
    std::unique_ptr<util::Signal> term_;
    std::unique_ptr<util::Signal> hup_;
    std::unique_ptr<util::Timer> frame_timer_;
    std::unique_ptr<util::Timer> escape_timer_;
    std::unique_ptr<util::Timer> message_timer_;

    std::string workspace_;
    std::vector<WorkerStatus> workers_;
    nlohmann::json last_delivery_;
    std::size_t focused_ = 0;
    std::map<std::string, PaneModel> models_;
    std::map<std::uint64_t, std::function<void(const nlohmann::json&)>> waiting_;
    std::uint64_t stream_id_ = 0;

    int rows_ = 24;
    int cols_ = 80;
    bool tiled_ = false;
    bool zoomed_ = false;
    std::vector<Tile> tiles_;
    bool prefix_armed_ = false;
    bool outer_focus_ = true;

    Overlay overlay_ = Overlay::None;
    std::size_t chooser_at_ = 0;
    // Workers marked in the chooser (Space) for the tiled view, by name.
    std::set<std::string> marked_;
    std::string prompt_;
    std::string message_;
    // Scrollback mode: the kept lines then the screen (its last
    // `history_screen_rows_` lines) as the server last sent them. New output
    // is fetched as it comes (`scrollback_fetching_`, and
    // `scrollback_stale_` when more came meanwhile) and added below; the
    // view keeps its place.
    std::vector<std::vector<Cell>> history_;
    int history_screen_rows_ = 0;
    long long scrollback_kept_ = 0;
    bool scrollback_fetching_ = false;
    bool scrollback_stale_ = false;
    int scroll_offset_ = 0; // lines above the bottom
    std::string search_;
    int match_line_ = -1;
    int match_col_ = -1;
    int match_width_ = 0;

    std::chrono::steady_clock::time_point last_render_{};
    // What the terminal shows, kept between renders: a frame that changes a
    // few rows of a pane recomposes and compares only those rows (and the
    // status line) unless `redraw_all_`.
    Canvas canvas_;
    // What the status line of `canvas_` says.
    StatusText drawn_status_;
    std::vector<std::uint8_t> dirty_rows_;
    // Of each row in `dirty_rows_`, the columns [first, second) to draw.
    std::vector<std::pair<int, int>> dirty_spans_;
    bool redraw_all_ = true;
    std::uint64_t typed_frames_ = 0;
    bool finished_ = false;
    int status_ = 0;
    std::string farewell_;
};

} // namespace sb::client::attach
