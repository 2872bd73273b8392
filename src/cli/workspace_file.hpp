#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "cli/command.hpp"

namespace sb::cli {

struct WorkspaceFileChoice {
    std::filesystem::path path;
    // True when it was found by searching the current directory and its
    // parents rather than named with -f.
    bool discovered = false;
};

// The workspace file a command works on: -f FILE, or switchboard.yaml /
// switchboard.yml in the current directory or its nearest parent. Nothing
// when there is none; `error` then says what to do.
std::optional<WorkspaceFileChoice> choose_workspace_file(const GlobalOptions& globals,
                                                         std::string& error);

} // namespace sb::cli
