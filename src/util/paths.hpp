#pragma once

#include <filesystem>
#include <string>
#include <variant>

namespace sb::util {

struct PathError {
    std::string message;
};

// The directory of a user's sockets and locks: $XDG_RUNTIME_DIR/switchboard,
// or /tmp/switchboard-UID without it. Created 0700 when missing; refused (like
// tmux) when it is not a directory owned by us or is open to others.
std::variant<std::filesystem::path, PathError> runtime_directory();

// The directory that holds every workspace's state directory:
// $XDG_STATE_HOME/switchboard, or ~/.local/state/switchboard. Created when
// missing.
std::variant<std::filesystem::path, PathError> state_base_directory();

// The directory of a workspace's persistent state (deliveries.db,
// server.log): $XDG_STATE_HOME/switchboard/WORKSPACE, or
// ~/.local/state/switchboard/WORKSPACE. Created when missing.
std::variant<std::filesystem::path, PathError> state_directory(const std::string& workspace);

} // namespace sb::util
