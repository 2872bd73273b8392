#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <uv.h>

#include "pty/spawn.hpp"
#include "term/screen.hpp"
#include "util/fd.hpp"
#include "util/uv.hpp"
#include "worker/reaper.hpp"
#include "worker/restart_policy.hpp"
#include "workspace/workspace.hpp"

namespace sb::worker {

enum class State { Starting, Running, Exited, Restarting, Stopped, Failed };
std::string_view to_string(State state);

// Pacing the reads of a flood from a slow writer. Short lines are slow to
// write into a terminal (the kernel turns each newline into CR LF with a
// write of its own), and a reader that takes every few lines as they land
// makes the kernel hand them over, and wake it, that often, which slows the
// writer further: `seq`-like output went at about 17 MB/s read that way and
// about 23 MB/s with a 20 us pause before each next read (bench/, figure
// 1b). 80-column lines come from a writer faster than any reader, which
// finds the kernel's buffer full each time; a pause would only slow them.
// So while output streams (the last read ended less than 1 ms before), a
// read of less than 1 KiB starts pacing, and pacing goes on while reads
// find the buffer less than full. The first read after a quiet spell (a
// key's echo) never waits. Returns whether to wait after a read of `bytes`.
bool pace_next_read(std::ptrdiff_t bytes, bool streaming, bool pacing);

// How the last run of a worker ended.
struct ExitStatus {
    std::optional<int> code;
    std::optional<int> signal;
};

struct WorkerConfig {
    std::string name;
    pty::SpawnSpec spawn;
    workspace::Size size;
    int scrollback = 10000;
    workspace::RestartPolicy restart = workspace::RestartPolicy::OnFailure;
    std::chrono::milliseconds stop_timeout{10000};
    RestartTiming restart_timing;
};

// A state change of a worker, as DESIGN's events name it: "worker_started",
// "worker_exited", "worker_restarting", "worker_failed", "worker_stopped".
struct WorkerEvent {
    std::string type;
    nlohmann::json fields;
};

// One supervised child under its own PTY: spawns it, feeds everything it
// prints into its screen model, writes to it through one ordered queue,
// reaps it, and restarts it by its policy.
class Worker {
public:
    using Listener = std::function<void(Worker&, const WorkerEvent&)>;

    Worker(uv_loop_t* loop, Reaper& reaper, WorkerConfig config, Listener listener);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Starts the worker unless it is running; clears the restart history.
    void start();
    // Ends the worker: SIGHUP and SIGTERM to its session, SIGKILL after
    // stop_timeout (or `timeout` when given). `done` runs once it has ended
    // (at once if it is not running).
    void stop(std::function<void()> done = {},
              std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    // Stops it (if running) and starts it again. `done` runs once the new
    // run has started (or failed to start), or once a stop requested in the
    // meantime has ended the old one.
    void restart(std::function<void()> done = {});
    // The child's terminal size and the screen model follow.
    void resize(int cols, int rows);
    // Queues bytes for the child's terminal, in order.
    void write(std::string_view bytes);

    // Bytes written only after a pause (a delivery's Enter after its body),
    // and, when `wait_for` is set, only once it returns true (checked after
    // each batch of output) or `wait_limit` has passed; the pause follows
    // the wait.
    struct Segment {
        std::string bytes;
        std::chrono::milliseconds delay_before{0};
        std::function<bool()> wait_for;
        std::chrono::milliseconds wait_limit{0};
    };
    // Queues segments as one unit: nothing written after this call (a
    // person's keys, a query reply, another delivery) lands between them,
    // pauses included. `done` is told true once the last byte is written,
    // false if the terminal went away first.
    void write_unit(std::vector<Segment> segments, std::function<void(bool written)> done);

    // Runs after every batch of output has been fed to the screen model.
    void set_output_listener(std::function<void()> listener) {
        output_listener_ = std::move(listener);
    }

    // Runs whenever the screen model may look different: after output (and
    // after the output listener), a resize, or a new run's fresh screen.
    // Attach reads the screen's damage here.
    void set_screen_listener(std::function<void()> listener) {
        screen_listener_ = std::move(listener);
    }
    // Forgets the screen's damage once the one reader of it (attach) has
    // taken it.
    void clear_screen_damage() { screen_->clear_damage(); }
    // Changes whenever a new run replaces the screen model with a fresh one.
    std::uint64_t screen_serial() const { return screen_serial_; }

    const std::string& name() const { return config_.name; }
    const WorkerConfig& config() const { return config_; }
    State state() const { return state_; }
    // Why the worker is in its state ("exec claude: No such file or
    // directory", "crash loop: ...").
    const std::string& reason() const { return reason_; }
    pid_t pid() const { return pid_; }
    int restarts() const { return restarts_; }
    const ExitStatus& last_exit() const { return last_exit_; }
    Clock::time_point started_at() const { return started_at_; }
    Clock::time_point last_output() const { return last_output_; }
    // How often reading this worker's output has waited for the writer to
    // put more in (see read_output); for tests and diagnostics.
    std::uint64_t read_pauses() const { return read_pauses_; }
    const term::Screen& screen() const { return *screen_; }
    // The time of the last keystroke written by `keys` or an attached person.
    Clock::time_point last_keystroke() const { return last_keystroke_; }
    // A person's keys `bytes` were written: they hold deliveries, and what
    // they typed after their last Enter may be a draft in the composer.
    void note_keystroke(std::string_view bytes);
    bool person_draft() const { return person_draft_; }
    // stop() was called for this run: nothing more is typed into it.
    bool stopping() const { return stop_requested_; }
    std::size_t pending_write_bytes() const { return write_queue_bytes_; }
    // True when no run is in progress: the last one (if any) has both
    // exited and finished its output.
    bool finished() const { return exit_seen_ && output_ended_; }

private:
    void spawn_now();
    void on_poll(int status, int events);
    void read_output();
    void flush_writes();
    void update_poll();
    void on_child_exit(int wait_status);
    void on_output_end();
    void finish_run();
    void close_pty();
    void set_state(State state, std::string reason = {});
    void emit(std::string type, nlohmann::json fields = nlohmann::json::object());

    uv_loop_t* loop_;
    Reaper& reaper_;
    WorkerConfig config_;
    Listener listener_;
    RestartPolicy policy_;

    State state_ = State::Stopped;
    std::string reason_;
    pid_t pid_ = 0;
    int restarts_ = 0;
    ExitStatus last_exit_;
    Clock::time_point started_at_{};
    Clock::time_point last_output_{};
    Clock::time_point last_keystroke_{};
    bool person_draft_ = false;

    std::unique_ptr<term::Screen> screen_;
    util::ScopedFd master_;
    std::unique_ptr<util::Poll> poll_;
    bool output_ended_ = true;
    // Reading waits while read_pace_timer_ runs (see read_output).
    bool pacing_ = false;
    std::uint64_t read_pauses_ = 0;
    util::FineTimer read_pace_timer_;
    Clock::time_point last_read_{};
    bool exit_seen_ = true;
    int exit_wait_status_ = 0;

    struct PendingWrite {
        std::string bytes;
        std::chrono::milliseconds delay_before{0};
        std::function<void(bool)> done;
        std::function<bool()> wait_for;
        std::chrono::milliseconds wait_limit{0};
    };
    bool head_waiting() const;
    void fail_pending_writes();

    std::deque<PendingWrite> write_queue_;
    std::size_t write_offset_ = 0;
    // The pause before the head of the queue has passed.
    bool head_released_ = false;
    util::Timer pause_timer_;
    // The wait of the head of the queue is over (its condition held or its
    // limit passed).
    bool head_waited_ = false;
    util::Timer wait_timer_;
    std::function<void()> output_listener_;
    std::function<void()> screen_listener_;
    std::uint64_t screen_serial_ = 0;
    void notify_screen() {
        if (screen_listener_) {
            screen_listener_();
        }
    }
    std::size_t write_queue_bytes_ = 0;

    bool stop_requested_ = false;
    bool restart_requested_ = false;
    std::vector<std::function<void()>> stop_waiters_;
    util::Timer stop_timer_;
    util::Timer restart_timer_;
    util::Timer drain_timer_;
};

} // namespace sb::worker
