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
extern const CommandSpec nudge_command;
extern const CommandSpec history_command;
extern const CommandSpec inbox_command;
extern const CommandSpec dispatch_command;
extern const CommandSpec check_command;
extern const CommandSpec doctor_command;
extern const CommandSpec demo_command;
extern const CommandSpec help_command;

namespace {

CommandSpec in(std::string_view group, CommandSpec spec) {
    spec.group = group;
    return spec;
}

} // namespace

std::span<const CommandSpec> commands() {
    // Grouped by purpose; `--help` lists the groups in this order.
    static const CommandSpec table[] = {
        in("Workspace", up_command),         in("Workspace", down_command),
        in("Workspace", reload_command),     in("Workspace", check_command),
        in("Workspace", doctor_command),     in("Workers", ls_command),
        in("Workers", attach_command),       in("Workers", start_command),
        in("Workers", stop_command),         in("Workers", restart_command),
        in("Workers", resize_command),       in("Workers", capture_command),
        in("Workers", keys_command),         in("Messages", send_command),
        in("Messages", pending_command),     in("Messages", hold_command),
        in("Messages", release_command),     in("Messages", cancel_command),
        in("Messages", nudge_command),       in("Messages", history_command),
        in("Messages", inbox_command),       in("Messages", dispatch_command),
        in("Events", events_command),        in("Getting started", demo_command),
        in("Getting started", help_command),
    };
    return table;
}

} // namespace sb::cli
