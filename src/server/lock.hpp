#pragma once

#include <filesystem>
#include <string>
#include <variant>

#include "util/fd.hpp"

namespace sb::server {

// The one-server-per-workspace lock: an flock on
// RUNTIME_DIR/WORKSPACE.lock holding the server's pid. The kernel drops the
// lock when its holder dies, so a stale lock file of a dead server is simply
// taken over.
class WorkspaceLock {
public:
    WorkspaceLock() = default;
    explicit WorkspaceLock(util::ScopedFd fd, std::filesystem::path path)
        : fd_(std::move(fd)), path_(std::move(path)) {}

    // Records the pid of the process that now holds it (after a daemon fork).
    void record_pid(pid_t pid) const;
    const std::filesystem::path& path() const { return path_; }

private:
    util::ScopedFd fd_;
    std::filesystem::path path_;
};

struct LockHeld {
    std::string message;
};

std::variant<WorkspaceLock, LockHeld> acquire_lock(const std::filesystem::path& runtime_dir,
                                                   const std::string& workspace);

} // namespace sb::server
