#include "cli/command.hpp"

namespace sb::cli {

extern const CommandSpec check_command;
extern const CommandSpec help_command;

std::span<const CommandSpec> commands() {
    static const CommandSpec table[] = {
        check_command,
        help_command,
    };
    return table;
}

} // namespace sb::cli
