#pragma once

#include <string>
#include <termios.h>

namespace sb::client::attach {

// The person's terminal while attached: raw mode, the alternate screen,
// bracketed paste and focus reports on, modified keys reported in kitty's or
// xterm's unambiguous forms, the title saved. Restored by the
// destructor, and, for the exits no destructor sees (a crash, an abort), by
// a signal handler that does only async-signal-safe work: tcsetattr and
// write of a restore sequence prepared in advance.
class TerminalMode {
public:
    // Nothing is changed when `fd` is not a terminal (an error is in
    // `error()` then).
    explicit TerminalMode(int fd);
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
    bool active_ = false;
    std::string error_;
    std::string mouse_ = "none";
};

} // namespace sb::client::attach
