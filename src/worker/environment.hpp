#pragma once

#include <map>
#include <string>
#include <vector>

#include "pty/spawn.hpp"
#include "workspace/workspace.hpp"

namespace sb::worker {

// What the server tells every worker about where it runs.
struct WorkerContext {
    std::string workspace_name;
    std::string socket_path;
};

// The server's own environment as a map (from environ).
std::map<std::string, std::string> server_environment();

// The program, arguments, environment and directory a worker is started
// with: the server's environment, then the workspace's env (defaults and the
// worker's own), then SWITCHBOARD_SOCKET, SWITCHBOARD_WORKER,
// SWITCHBOARD_WORKSPACE, and TERM=xterm-256color and COLORTERM=truecolor
// unless the workspace set them. A string command runs as `$SHELL -c`.
pty::SpawnSpec spawn_spec(const workspace::Worker& worker, const WorkerContext& context,
                          const std::map<std::string, std::string>& server_env);

} // namespace sb::worker
