#include "cli/command.hpp"

namespace sb::cli {

extern const CommandSpec up_command;
extern const CommandSpec down_command;
extern const CommandSpec reload_command;
extern const CommandSpec ls_command;
extern const CommandSpec attach_command;
extern const CommandSpec capture_command;
extern const CommandSpec keys_command;
extern const CommandSpec start_command;
extern const CommandSpec stop_command;
extern const CommandSpec restart_command;
extern const CommandSpec resize_command;
extern const CommandSpec events_command;
extern const CommandSpec send_command;
extern const CommandSpec pending_command;
extern const CommandSpec hold_command;
extern const CommandSpec release_command;
extern const CommandSpec cancel_command;
extern const CommandSpec check_command;
extern const CommandSpec help_command;

std::span<const CommandSpec> commands() {
    static const CommandSpec table[] = {
        up_command,      down_command,   reload_command, ls_command,      attach_command,
        capture_command, keys_command,   start_command,  stop_command,    restart_command,
        resize_command,  events_command, send_command,   pending_command, hold_command,
        release_command, cancel_command, check_command,  help_command,
    };
    return table;
}

} // namespace sb::cli
