#pragma once

#include <nlohmann/json.hpp>

#include "workspace/diagnostics.hpp"
#include "workspace/workspace.hpp"

namespace sb::workspace {

// The effective workspace (defaults applied) as `check --json` and the
// control protocol show it. Durations are in milliseconds.
nlohmann::json to_json(const Workspace& workspace);
nlohmann::json to_json(const Diagnostic& diagnostic);

} // namespace sb::workspace
