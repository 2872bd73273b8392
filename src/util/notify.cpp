#include "util/notify.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/fd.hpp"

namespace sb::util {

std::string take_notify_socket() {
    const char* value = std::getenv("NOTIFY_SOCKET");
    std::string path = value != nullptr ? value : "";
    ::unsetenv("NOTIFY_SOCKET");
    return path;
}

int notify_service_manager(const std::string& socket_path, std::string_view state) {
    if (socket_path.empty()) {
        return 0;
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof address.sun_path ||
        (socket_path[0] != '/' && socket_path[0] != '@')) {
        return -EINVAL;
    }
    std::memcpy(address.sun_path, socket_path.data(), socket_path.size());
    socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path.size());
    if (socket_path[0] == '@') {
        // An abstract address: a leading NUL, and no terminating one counted.
        address.sun_path[0] = '\0';
    } else {
        ++length;
    }
    ScopedFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        return -errno;
    }
    const ssize_t sent = ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
                                  reinterpret_cast<const sockaddr*>(&address), length);
    if (sent < 0) {
        return -errno;
    }
    return 0;
}

} // namespace sb::util
