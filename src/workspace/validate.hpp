#pragma once

#include <optional>
#include <string>

#include "workspace/diagnostics.hpp"
#include "workspace/load.hpp"
#include "workspace/source_map.hpp"
#include "workspace/workspace.hpp"

namespace sb::workspace {

// Checks what only the machine can tell: every worker's cwd exists and is a
// directory (an error) and its program can be found (a warning, since it may
// be installed before the workspace starts).
void validate(const Workspace& workspace, const SourceMap& positions,
              const EnvironmentLookup& environment, Diagnostics& diagnostics);

// Finds an executable the way execvp would: a name with a slash relative to
// `cwd`, any other name in the directories of `path`.
bool program_exists(const std::string& program, const std::string& path,
                    const std::filesystem::path& cwd);

// Where execvp would find `program`, as program_exists looks; nothing when
// it would not.
std::optional<std::filesystem::path>
find_program(const std::string& program, const std::string& path, const std::filesystem::path& cwd);

// The program a worker's command starts, as far as that can be told without
// running it; empty for a shell line that only a shell can tell.
std::string program_of(const Command& command);

// The PATH a worker's program is looked up in: its own env's PATH, else the
// inherited one, else the shells' default.
std::string search_path_of(const Worker& worker, const EnvironmentLookup& environment);

// The program a shell command line starts, when that can be told without
// running a shell ("exec codex --full-auto" -> "codex"); empty otherwise.
std::string program_of_shell_line(const std::string& line);

} // namespace sb::workspace
