#include <iostream>
#include <map>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "cli/command.hpp"

namespace sb::cli {

int run(int argc, char** argv) {
    CLI::App app{"switchboard: a PTY supervisor that runs AI coding agents side by side and "
                 "delivers messages between them.",
                 "switchboard"};
    app.set_version_flag("-V,--version", std::string("switchboard ") + SWITCHBOARD_VERSION);
    app.require_subcommand(0, 1);
    // Global options may follow the command: `switchboard check -f x.yaml`.
    app.fallthrough();
    app.footer("Run `switchboard help COMMAND` for a command's options; `man switchboard` for "
               "everything.");

    GlobalOptions globals;
    app.add_option("-f,--file", globals.file,
                   "Workspace file (default: switchboard.yaml or switchboard.yml in the current "
                   "directory or its nearest parent)")
        ->option_text("FILE");
    app.add_option("-S,--socket", globals.socket,
                   "Control socket of a running workspace (default: from SWITCHBOARD_SOCKET or the "
                   "workspace name)")
        ->option_text("SOCKET");
    app.add_option("--log-level", globals.log_level, "trace, debug, info, warn, error or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
        ->option_text("LEVEL");

    std::map<CLI::App*, std::function<int()>> runners;
    for (const auto& spec : commands()) {
        CLI::App* sub = app.add_subcommand(std::string(spec.name), std::string(spec.summary));
        sub->group(std::string(spec.group.empty() ? "Commands" : spec.group));
        CommandOptions options(*sub);
        runners.emplace(sub, spec.define(options, globals));
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        const int status = app.exit(error);
        return status == 0 ? exit_ok : exit_usage;
    }

    spdlog::set_level(spdlog::level::from_str(globals.log_level));

    for (auto& [sub, runner] : runners) {
        if (sub->parsed()) {
            return runner();
        }
    }
    std::cerr << app.help();
    return exit_usage;
}

} // namespace sb::cli
