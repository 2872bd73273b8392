#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "workspace/load.hpp"

namespace sb::workspace {

struct ExpansionError {
    std::string message;
};

// Expands `${VAR}` and `${VAR:-default}` from the environment; `$$` is a
// literal `$`. Any other `$` is left as it is, so `$HOME` in a shell command
// is still the shell's business.
std::variant<std::string, ExpansionError> expand_variables(std::string_view text,
                                                           const EnvironmentLookup& environment);

} // namespace sb::workspace
