#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "workspace/diagnostics.hpp"
#include "workspace/workspace.hpp"

namespace sb::workspace {

// Looks a variable up in the environment that `${VAR}` expands from.
using EnvironmentLookup = std::function<std::optional<std::string>(std::string_view)>;

// The server's own environment (getenv).
EnvironmentLookup process_environment();

struct LoadResult {
    // Present only when there were no errors (warnings allowed).
    std::optional<Workspace> workspace;
    Diagnostics diagnostics;
};

// Reads, parses and validates a workspace file. `display_name` is how the file
// is named in every message (the path as the user gave it).
LoadResult load_file(const std::filesystem::path& file,
                     const EnvironmentLookup& environment = process_environment());

// The same for text already in memory; `directory` is what relative paths
// (cwd) resolve against and what the default workspace name derives from.
LoadResult load_text(std::string_view text, const std::string& display_name,
                     const std::filesystem::path& directory,
                     const EnvironmentLookup& environment = process_environment());

} // namespace sb::workspace
