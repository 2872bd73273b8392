#include "server/lock.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/file.h>
#include <unistd.h>

namespace sb::server {

void WorkspaceLock::record_pid(pid_t pid) const {
    const std::string text = std::to_string(pid) + "\n";
    if (::ftruncate(fd_.get(), 0) == 0) {
        [[maybe_unused]] const ssize_t n = ::pwrite(fd_.get(), text.data(), text.size(), 0);
    }
}

std::variant<WorkspaceLock, LockHeld> acquire_lock(const std::filesystem::path& runtime_dir,
                                                   const std::string& workspace) {
    const auto path = runtime_dir / (workspace + ".lock");
    util::ScopedFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) {
        return LockHeld{"cannot open " + path.string() + ": " + std::strerror(errno) +
                        "; `switchboard doctor` checks the runtime directory"};
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            return LockHeld{"cannot lock " + path.string() + ": " + std::strerror(errno)};
        }
        char buffer[32] = {};
        const ssize_t n = ::pread(fd.get(), buffer, sizeof buffer - 1, 0);
        std::string pid = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "";
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) {
            pid.pop_back();
        }
        return LockHeld{"workspace \"" + workspace + "\" is already running" +
                        (pid.empty() ? "" : " (server pid " + pid + ")") +
                        "; stop it with `switchboard down`, or use it as it is"};
    }
    WorkspaceLock lock(std::move(fd), path);
    lock.record_pid(::getpid());
    return lock;
}

} // namespace sb::server
