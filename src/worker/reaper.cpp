#include "worker/reaper.hpp"

#include <cerrno>
#include <signal.h>
#include <sys/wait.h>
#include <vector>

namespace sb::worker {

Reaper::Reaper(uv_loop_t* loop) : sigchld_(loop) {
    sigchld_.start(SIGCHLD, [this] { reap(); });
}

void Reaper::watch(pid_t pid, std::function<void(int)> on_exit) {
    children_[pid] = std::move(on_exit);
    // The child may have ended before it was watched.
    reap();
}

void Reaper::forget(pid_t pid) {
    children_.erase(pid);
}

void Reaper::reap() {
    std::vector<std::pair<std::function<void(int)>, int>> ended;
    for (auto it = children_.begin(); it != children_.end();) {
        int status = 0;
        const pid_t result = ::waitpid(it->first, &status, WNOHANG);
        if (result == it->first || (result < 0 && errno == ECHILD)) {
            ended.emplace_back(std::move(it->second), result < 0 ? 0 : status);
            it = children_.erase(it);
        } else {
            ++it;
        }
    }
    // Callbacks run after the map is settled: they may watch new children.
    for (auto& [callback, status] : ended) {
        callback(status);
    }
}

} // namespace sb::worker
