#include "client/attach/tty.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace sb::client::attach {

namespace {

// What the crash handler restores: set before any change is made.
int saved_fd = -1;
termios saved_termios{};
volatile sig_atomic_t terminal_changed = 0;

// Mouse off, focus reports and bracketed paste off, cursor shown in the
// terminal's default shape, style reset, the numeric keypad, the keyboard
// protocols undone (the kitty flags popped from the alternate screen's stack
// before leaving it, modifyOtherKeys back to the terminal's own setting),
// the main screen back and the title that was saved restored. (While
// attached the keypad is in application mode, so that its keys can be told
// from the main keys.)
constexpr char restore_sequence[] = "\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l"
                                    "\x1b[?1004l\x1b[?2004l\x1b[0m\x1b[0 q\x1b[?25h"
                                    "\x1b>\x1b[<u\x1b[>4m\x1b[?1049l\x1b[23;0t";
// Modified keys are asked for unambiguously: kitty's flags 1 (disambiguate)
// and 4 (alternate keys: what Shift makes of a key, for a legacy worker) on
// the alternate screen's stack, and xterm's modifyOtherKeys 2. A terminal
// that knows neither ignores them and sends legacy bytes.
constexpr char enter_sequence[] = "\x1b[22;0t\x1b[?1049h\x1b[?1l\x1b=\x1b[?2004h\x1b[?1004h"
                                  "\x1b[>5u\x1b[>4;2m\x1b[H\x1b[2J";

extern "C" void on_fatal_signal(int signum) {
    const int saved_errno = errno;
    if (terminal_changed != 0) {
        terminal_changed = 0;
        write_all(saved_fd, std::string_view(restore_sequence, sizeof restore_sequence - 1));
        ::tcsetattr(saved_fd, TCSAFLUSH, &saved_termios);
    }
    errno = saved_errno;
    // SA_RESETHAND put the default action back: die of the same signal.
    ::raise(signum);
}

} // namespace

void restore_on_crash(int fd, const termios& settings) {
    saved_fd = fd;
    saved_termios = settings;
    struct sigaction action {};
    action.sa_handler = on_fatal_signal;
    action.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    for (const int signum : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT}) {
        ::sigaction(signum, &action, nullptr);
    }
    terminal_changed = 1;
}

void forget_crash_restore() {
    terminal_changed = 0;
}

std::string_view terminal_enter_sequence() {
    return {enter_sequence, sizeof enter_sequence - 1};
}

std::string_view terminal_restore_sequence() {
    return {restore_sequence, sizeof restore_sequence - 1};
}

TerminalMode::TerminalMode(int fd, Writer write, bool crash_restore)
    : fd_(fd), write_(std::move(write)), crash_restore_(crash_restore) {
    if (::isatty(fd) == 0) {
        error_ = "not a terminal";
        return;
    }
    if (::tcgetattr(fd, &saved_) != 0) {
        error_ = std::string("cannot read the terminal's settings: ") + std::strerror(errno);
        return;
    }
    termios raw = saved_;
    ::cfmakeraw(&raw);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (!crash_restore_) {
        ::tcflush(fd, TCIFLUSH);
    }
    if (::tcsetattr(fd, crash_restore_ ? TCSAFLUSH : TCSANOW, &raw) != 0) {
        error_ = std::string("cannot put the terminal in raw mode: ") + std::strerror(errno);
        return;
    }
    if (crash_restore_) {
        restore_on_crash(fd, saved_);
    }
    active_ = true;
    write_(terminal_enter_sequence());
}

TerminalMode::~TerminalMode() {
    restore();
}

void TerminalMode::restore() {
    if (!active_) {
        return;
    }
    active_ = false;
    if (crash_restore_) {
        forget_crash_restore();
    }
    // The settings first: once the screen is back, so are they. The server
    // (no `crash_restore`) must not wait on a terminal that is not read any
    // more: it drops the unread input without waiting for output to drain.
    if (crash_restore_) {
        ::tcsetattr(fd_, TCSAFLUSH, &saved_);
    } else {
        ::tcflush(fd_, TCIFLUSH);
        ::tcsetattr(fd_, TCSANOW, &saved_);
    }
    write_(terminal_restore_sequence());
}

void TerminalMode::set_mouse(const std::string& level) {
    if (!active_ || level == mouse_) {
        return;
    }
    mouse_ = level;
    std::string out = "\x1b[?1000l\x1b[?1002l\x1b[?1003l";
    if (level == "click") {
        out += "\x1b[?1000h\x1b[?1006h";
    } else if (level == "drag") {
        out += "\x1b[?1002h\x1b[?1006h";
    } else if (level == "motion") {
        out += "\x1b[?1003h\x1b[?1006h";
    } else {
        out += "\x1b[?1006l";
    }
    write_(out);
}

void TerminalMode::size(int fd, int& rows, int& cols) {
    winsize size{};
    if (::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_row > 0 && size.ws_col > 0) {
        rows = size.ws_row;
        cols = size.ws_col;
        return;
    }
    rows = 24;
    cols = 80;
}

TerminalOutput::TerminalOutput(uv_loop_t* loop, int fd, bool blocking)
    : fd_(fd), blocking_(blocking) {
    if (!blocking_) {
        poll_ = std::make_unique<util::Poll>(loop, fd);
    }
}

TerminalOutput::~TerminalOutput() = default;

void TerminalOutput::write(std::string_view data) {
    if (data.empty()) {
        return;
    }
    if (blocking_) {
        write_all(fd_, data);
        return;
    }
    if (failed_) {
        return;
    }
    pending_ += data;
    if (pending_.size() == data.size()) {
        write_pending();
    }
}

bool TerminalOutput::write_out(int wait_ms) {
    std::size_t done = 0;
    bool written = true;
    while (done < pending_.size()) {
        const ssize_t n = ::write(fd_, pending_.data() + done, pending_.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            pollfd ready{.fd = fd_, .events = POLLOUT, .revents = 0};
            if (wait_ms > 0 && ::poll(&ready, 1, wait_ms) > 0) {
                continue;
            }
            break;
        }
        if (n <= 0) {
            written = false;
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    pending_.erase(0, done);
    return written;
}

void TerminalOutput::write_pending() {
    if (!write_out(0)) {
        fail();
        return;
    }
    if (pending_.empty()) {
        if (poll_->events() != 0) {
            poll_->stop();
            if (on_drained_) {
                on_drained_();
            }
        }
        return;
    }
    if (poll_->events() == 0) {
        poll_->start(UV_WRITABLE, [this](int status, int) {
            if (status < 0) {
                fail();
                return;
            }
            write_pending();
        });
    }
}

void TerminalOutput::fail() {
    pending_.clear();
    poll_->stop();
    if (!failed_) {
        failed_ = true;
        if (on_failed_) {
            on_failed_();
        }
    }
}

void TerminalOutput::finish(int timeout_ms) {
    if (blocking_ || failed_) {
        return;
    }
    poll_->stop();
    write_out(timeout_ms);
    pending_.clear();
}

void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

} // namespace sb::client::attach
