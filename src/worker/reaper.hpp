#pragma once

#include <functional>
#include <map>
#include <sys/types.h>

#include <uv.h>

#include "util/uv.hpp"

namespace sb::worker {

// Collects the exit status of the children the server started. SIGCHLD is
// watched through libuv; each owned child is waited for by its pid (never
// waitpid(-1), which would steal statuses from anyone else in the process).
class Reaper {
public:
    explicit Reaper(uv_loop_t* loop);

    // `on_exit` gets the raw wait status once the child has ended.
    void watch(pid_t pid, std::function<void(int wait_status)> on_exit);
    void forget(pid_t pid);
    // Waits for every watched child now; also what SIGCHLD triggers.
    void reap();
    // Stops watching SIGCHLD, so the loop can end once nothing else runs.
    void stop() { sigchld_.stop(); }

private:
    util::Signal sigchld_;
    std::map<pid_t, std::function<void(int)>> children_;
};

} // namespace sb::worker
