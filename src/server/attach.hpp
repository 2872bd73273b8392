#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <uv.h>

#include "protocol/screen_frame.hpp"
#include "server/control.hpp"
#include "term/cell.hpp"
#include "util/uv.hpp"

namespace sb::worker {
class Worker;
}
namespace sb::term {
class Row;
class Screen;
} // namespace sb::term

namespace sb::server {

class Server;

// A row of the screen, or of its scrollback (0 the oldest kept line), as
// base64 of the protocol's binary row form (protocol/screen_wire.hpp).
std::string encode_screen_row(const term::Screen& screen, int row);
std::string encode_scrollback_row(const term::Screen& screen, std::size_t index);

// Whether the cells of `row` (`cols` wide) differ from `shown` only in
// [first, end), and hold printable ASCII there, one cell a character
// without marks: text typed at a cursor that was at `first` and is now at
// `end`.
bool typed_at(const term::Row& row, const std::vector<term::Cell>& shown, int cols, int first,
              int end);

// The attach subscriptions of a server (switchboard-protocol(7), "attach"):
// each attached client names the panes it shows (a worker and a size each)
// and gets one full frame of every pane, then only the rows that changed,
// plus a status line whenever the workers' states, queues or the last
// delivery outcome change.
//
// Output to a client is bounded: while more than `max_behind_bytes` of what
// was sent to it is still unread, nothing more is sent, and once it has caught
// up it gets a full redraw of its panes. A slow terminal therefore costs the
// server at most one frame per pane, never a growing backlog.
class AttachHub {
public:
    static constexpr std::size_t max_behind_bytes = 256 * 1024;
    // Frames to one client are at most this often; a burst of output in
    // between is sent as the one frame that shows its end.
    static constexpr std::chrono::milliseconds frame_interval{8};

    struct Pane {
        std::string worker;
        int cols = 80;
        int rows = 24;
    };

    AttachHub(uv_loop_t* loop, Server& server);
    ~AttachHub();
    AttachHub(const AttachHub&) = delete;
    AttachHub& operator=(const AttachHub&) = delete;

    // Opens the subscription of a connection (request `stream_id`), replacing
    // one it had.
    void open(const std::shared_ptr<Connection>& connection, const nlohmann::json& stream_id,
              std::vector<Pane> panes);
    // A new set of panes (switching, tiling, a resized terminal); false when
    // the connection has no subscription.
    bool set_panes(std::uint64_t connection, std::vector<Pane> panes);
    // Bytes from the person at this client for a worker: written through the
    // worker's write queue. A keystroke holds its deliveries (DESIGN's gate).
    // Either makes this client the most recently active one, whose pane sizes
    // the workers follow.
    bool input(std::uint64_t connection, worker::Worker& worker, std::string_view bytes,
               bool keystroke);
    bool attached(std::uint64_t connection) const { return sessions_.contains(connection); }

    // The worker's screen may have changed (Worker's screen listener).
    void on_screen_changed(worker::Worker& worker);
    // Something the status line shows may have changed.
    void on_event(const nlohmann::json& event);

private:
    struct PaneState {
        Pane pane;
        std::uint64_t screen_serial = 0;
        int screen_cols = 0;
        int screen_rows = 0;
        bool full = true;
        std::vector<std::uint8_t> dirty;
        // What the last frame said besides the rows.
        std::optional<protocol::ScreenFrame> last_meta;
        // For a session that takes frames as they are: the screen's cells as
        // frames have shown them, to send only the cells that changed.
        std::vector<std::vector<term::Cell>> shown;
    };
    struct Session {
        std::weak_ptr<Connection> connection;
        nlohmann::json stream_id;
        std::vector<PaneState> panes;
        std::string last_status;
        bool behind = false;
    };

    void schedule_flush();
    // Sends the change of the worker's screen at once, as a `typed` frame,
    // to every session that shows the worker, when it is text typed at the
    // cursor and nothing else and no frame waits (a key's echo); false, and
    // nothing sent, otherwise.
    bool send_typed(worker::Worker& worker);
    // The columns [first, end) of the cursor's row that a typed frame
    // carries for this pane, or nothing when the change is not only that.
    // `meta` is the worker's (screen_meta); it is left as it was.
    std::optional<std::pair<int, int>> typed_span(const PaneState& state,
                                                  const worker::Worker& worker,
                                                  protocol::ScreenFrame& meta) const;
    void flush();
    // Starts tick_timer_ for the next change without an event of its own,
    // or stops it when there is none.
    void arm_tick();
    void flush_session(Session& session);
    // With `spans`, rows carry only their changed cells (ScreenFrame::spans).
    std::optional<protocol::ScreenFrame> pane_frame(PaneState& state, worker::Worker& worker,
                                                    bool spans);
    nlohmann::json status() const;
    // Whether a person's typing holds the worker's deliveries now, and when
    // the hold of the last key typed ends (nothing when none was typed).
    bool typing_hold(const worker::Worker& worker) const;
    std::optional<std::chrono::steady_clock::time_point>
    typing_hold_end(const worker::Worker& worker) const;
    void make_active(std::uint64_t connection);
    void apply_sizes(const Session& session);
    void close(std::uint64_t connection);

    uv_loop_t* loop_;
    Server& server_;
    std::map<std::uint64_t, Session> sessions_;
    std::uint64_t active_ = 0;
    util::Timer flush_timer_;
    // Re-checks what has no event of its own: a typing hold running out (at
    // its end), a client that was behind having caught up (each tick while
    // one is behind). Stopped otherwise.
    util::Timer tick_timer_;
    // When a screen frame last went out: output right after one waits for
    // the frame interval (a burst), output after a quiet spell goes at once.
    std::chrono::steady_clock::time_point last_frame_{};
    // The status line is composed again only when something it shows may
    // have changed (an event, a typing hold starting or running out) or
    // when it was last composed a tick ago: not for every screen frame.
    bool status_dirty_ = true;
    std::chrono::steady_clock::time_point last_status_check_{};
    nlohmann::json last_delivery_;
    std::uint64_t event_token_ = 0;
};

} // namespace sb::server
