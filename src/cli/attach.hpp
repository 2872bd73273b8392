#pragma once

#include <optional>
#include <string>

namespace sb::cli {

// Attaches this terminal to a workspace's server (`switchboard attach`, and
// `switchboard up` in a terminal); returns the exit status.
int attach_terminal(const std::string& socket_path, const std::string& workspace,
                    const std::string& worker, const std::optional<std::string>& prefix);

} // namespace sb::cli
