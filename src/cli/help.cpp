#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/command.hpp"

namespace sb::cli {

namespace {

struct HelpOptions {
    std::string topic;
};

std::function<int()> define(CommandOptions& command, const GlobalOptions&) {
    auto options = std::make_shared<HelpOptions>();
    command.add_option("COMMAND", options->topic, "The command to describe");
    command.footer("Exit status: 0, or 2 for an unknown command.");
    CLI::App* root = command.app().get_parent();
    return [root, options]() -> int {
        if (options->topic.empty()) {
            // App::help() would follow the parsed subcommand (this one).
            std::cout << root->get_formatter()->make_help(root, "switchboard",
                                                          CLI::AppFormatMode::Normal);
            return exit_ok;
        }
        for (CLI::App* sub : root->get_subcommands([](CLI::App*) { return true; })) {
            if (sub->get_name() == options->topic) {
                std::cout << sub->help("switchboard");
                return exit_ok;
            }
        }
        std::cerr << "switchboard: no command \"" << options->topic
                  << "\"; `switchboard --help` lists them\n";
        return exit_usage;
    };
}

} // namespace

extern const CommandSpec help_command;
const CommandSpec help_command{
    "help",
    "Show the help of a command (switchboard help COMMAND)",
    &define,
};

} // namespace sb::cli
