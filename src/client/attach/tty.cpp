#include "client/attach/tty.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
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

void write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

void restore_now() {
    if (terminal_changed == 0) {
        return;
    }
    terminal_changed = 0;
    write_all(saved_fd, restore_sequence, sizeof restore_sequence - 1);
    ::tcsetattr(saved_fd, TCSAFLUSH, &saved_termios);
}

extern "C" void on_fatal_signal(int signum) {
    const int saved_errno = errno;
    restore_now();
    errno = saved_errno;
    // SA_RESETHAND put the default action back: die of the same signal.
    ::raise(signum);
}

} // namespace

TerminalMode::TerminalMode(int fd) : fd_(fd) {
    if (::isatty(fd) == 0) {
        error_ = "not a terminal";
        return;
    }
    if (::tcgetattr(fd, &saved_termios) != 0) {
        error_ = std::string("cannot read the terminal's settings: ") + std::strerror(errno);
        return;
    }
    saved_fd = fd;
    termios raw = saved_termios;
    ::cfmakeraw(&raw);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (::tcsetattr(fd, TCSAFLUSH, &raw) != 0) {
        error_ = std::string("cannot put the terminal in raw mode: ") + std::strerror(errno);
        return;
    }
    struct sigaction action {};
    action.sa_handler = on_fatal_signal;
    action.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    for (const int signum : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT}) {
        ::sigaction(signum, &action, nullptr);
    }
    terminal_changed = 1;
    active_ = true;
    write_all(fd, enter_sequence, sizeof enter_sequence - 1);
}

TerminalMode::~TerminalMode() {
    restore();
}

void TerminalMode::restore() {
    if (!active_) {
        return;
    }
    active_ = false;
    restore_now();
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
    write_all(fd_, out.data(), out.size());
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

} // namespace sb::client::attach
