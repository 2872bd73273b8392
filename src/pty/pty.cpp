#include "pty/pty.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>

namespace sb::pty {

std::variant<Pty, PtyError> open_pty(int cols, int rows) {
    util::ScopedFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK));
    if (!master) {
        return PtyError{std::string("posix_openpt: ") + std::strerror(errno)};
    }
    if (::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0) {
        return PtyError{std::string("unlockpt: ") + std::strerror(errno)};
    }
    char name[128];
    if (::ptsname_r(master.get(), name, sizeof name) != 0) {
        return PtyError{std::string("ptsname: ") + std::strerror(errno)};
    }
    util::ScopedFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) {
        return PtyError{std::string("open ") + name + ": " + std::strerror(errno)};
    }
    termios settings{};
    if (::tcgetattr(slave.get(), &settings) == 0) {
        // Backspace erases a whole UTF-8 character in canonical mode.
        settings.c_iflag |= IUTF8;
        ::tcsetattr(slave.get(), TCSANOW, &settings);
    }
    if (const int error = set_window_size(master.get(), cols, rows); error != 0) {
        return PtyError{std::string("TIOCSWINSZ: ") + std::strerror(-error)};
    }
    return Pty{std::move(master), std::move(slave)};
}

int set_window_size(int master_fd, int cols, int rows) {
    winsize size{};
    size.ws_col = static_cast<unsigned short>(cols);
    size.ws_row = static_cast<unsigned short>(rows);
    if (::ioctl(master_fd, TIOCSWINSZ, &size) != 0) {
        return -errno;
    }
    return 0;
}

} // namespace sb::pty
