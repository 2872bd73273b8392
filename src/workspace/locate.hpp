#pragma once

#include <filesystem>
#include <optional>

namespace sb::workspace {

// The workspace file in `start` or the nearest of its parents, the way git
// finds .git: switchboard.yaml first, then switchboard.yml.
std::optional<std::filesystem::path> locate(const std::filesystem::path& start);

} // namespace sb::workspace
