#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <termios.h>

#include <uv.h>

#include "util/uv.hpp"

namespace sb::client::attach {

// What a person's terminal is told on attaching (the alternate screen,
// bracketed paste and focus reports on, modified keys reported in kitty's or
// xterm's unambiguous forms, the title saved) and what gives it back.
std::string_view terminal_enter_sequence();
std::string_view terminal_restore_sequence();

// Writes all of `data` to a blocking descriptor, giving up on an error.
// Only write(2): safe in a signal handler.
void write_all(int fd, std::string_view data);

// Until forget_crash_restore(), a crash of this process (SIGSEGV, SIGABRT,
// ...) gives terminal `fd` these settings and the restore sequence before it
// dies, in a handler that does only async-signal-safe work.
void restore_on_crash(int fd, const termios& settings);
void forget_crash_restore();

// The person's terminal while attached: raw mode and the enter sequence,
// undone by restore() or the destructor. With `crash_restore` (the attach
// client, one at a time in a process) the exits no destructor sees (a crash,
// an abort) restore it too (restore_on_crash).
// Without it (the server, on a client's terminal) nothing waits on the
// terminal: its settings change at once, unread input is dropped.
class TerminalMode {
public:
    // Writes to the terminal, in order with everything else drawn on it.
    using Writer = std::function<void(std::string_view)>;

    // Nothing is changed when `fd` is not a terminal (an error is in
    // `error()` then).
    TerminalMode(int fd, Writer write, bool crash_restore);
    ~TerminalMode();
    TerminalMode(const TerminalMode&) = delete;
    TerminalMode& operator=(const TerminalMode&) = delete;

    bool active() const { return active_; }
    const std::string& error() const { return error_; }
    // Turns mouse reporting of the person's terminal on (SGR encoding) at
    // the level a worker asked for ("click", "drag", "motion") or off ("none").
    void set_mouse(const std::string& level);
    // Restores the terminal now (idempotent).
    void restore();
    // The size of the terminal (rows, cols); 24x80 when it cannot be told.
    static void size(int fd, int& rows, int& cols);

private:
    int fd_;
    Writer write_;
    bool crash_restore_;
    termios saved_{};
    bool active_ = false;
    std::string error_;
    std::string mouse_ = "none";
};

// Writes what is drawn to the person's terminal. The attach client's
// standard output is shared with the shell, so it blocks; the server's own
// file description of a client's terminal (attach_terminal) does not, and
// what the terminal has not taken yet waits here: the session draws nothing
// new while `busy()`, so a slow terminal costs one frame, never a backlog.
class TerminalOutput {
public:
    TerminalOutput(uv_loop_t* loop, int fd, bool blocking);
    ~TerminalOutput();
    TerminalOutput(const TerminalOutput&) = delete;
    TerminalOutput& operator=(const TerminalOutput&) = delete;

    void write(std::string_view data);
    bool busy() const { return !pending_.empty(); }
    // Runs once what waited has been written.
    void on_drained(std::function<void()> callback) { on_drained_ = std::move(callback); }
    // Runs once when the terminal cannot be written (hung up).
    void on_failed(std::function<void()> callback) { on_failed_ = std::move(callback); }
    // Gives up what waits (the session ends; a full redraw is not owed).
    void discard() { pending_.clear(); }
    // Writes what waits, waiting up to `timeout_ms` for the terminal to take
    // it (the last words of a session: the restore sequence).
    void finish(int timeout_ms);

private:
    // Writes what waits; where the terminal would block, waits up to
    // `wait_ms` for it (0: not at all). False when it cannot be written.
    bool write_out(int wait_ms);
    void write_pending();
    // The terminal cannot be written: what waits is dropped, on_failed runs.
    void fail();

    int fd_;
    bool blocking_;
    std::string pending_;
    std::unique_ptr<util::Poll> poll_;
    std::function<void()> on_drained_;
    std::function<void()> on_failed_;
    bool failed_ = false;
};

} // namespace sb::client::attach
