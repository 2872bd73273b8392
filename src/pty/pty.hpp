#pragma once

#include <string>
#include <variant>

#include "util/fd.hpp"

namespace sb::pty {

struct Pty {
    // Non-blocking and close-on-exec; the supervisor's end.
    util::ScopedFd master;
    // Close-on-exec; the child's controlling terminal once spawned. The
    // parent closes it after the spawn so the end of output can be seen.
    util::ScopedFd slave;
};

// What one read of the master gets when the kernel's buffer for the
// terminal is full: n_tty keeps one byte of its 4096 free. A shorter read
// found the buffer less than full.
constexpr long full_read = 4095;

struct PtyError {
    std::string message;
};

// Opens a new pseudo-terminal of the given size with sane line settings
// (UTF-8 aware erase, the kernel's defaults otherwise).
std::variant<Pty, PtyError> open_pty(int cols, int rows);

// Sets the terminal size the child sees (TIOCSWINSZ); the kernel sends the
// foreground process group SIGWINCH. Returns 0 or a negative errno.
int set_window_size(int master_fd, int cols, int rows);

} // namespace sb::pty
