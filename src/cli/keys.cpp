#include <iostream>

#include "cli/command.hpp"
#include "cli/server_connection.hpp"

namespace sb::cli {

namespace {

struct KeysOptions {
    std::string worker;
    std::vector<std::string> keys;
    bool literal = false;
    bool paste = false;
};

int run_keys(const GlobalOptions& globals, const KeysOptions& options) {
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    auto result = call(*client, "keys",
                       {{"worker", options.worker},
                        {"keys", options.keys},
                        {"literal", options.literal},
                        {"paste", options.paste}});
    return result ? exit_ok : exit_failure;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<KeysOptions>();
    command.add_option("WORKER", options->worker, "The worker to type into").required();
    command
        .add_option("KEYS", options->keys,
                    "Key names as tmux send-keys names them (Enter, Escape, Tab, BSpace, Up, "
                    "C-c, M-x, F1, ...); other words are typed as text")
        .required();
    command.add_flag("-l,--literal", options->literal,
                     "Type the arguments as literal UTF-8 text, not key names");
    command.add_flag("--paste", options->paste,
                     "Send the text as one bracketed paste when the worker's application enabled "
                     "it (implies --literal)");
    command.footer("Exit status: 0, or 1 when no server runs, the worker is unknown or not "
                   "running.");
    return [&globals, options] { return run_keys(globals, *options); };
}

} // namespace

extern const CommandSpec keys_command;
const CommandSpec keys_command{"keys", "Type keys or text into a worker's terminal", &define};

} // namespace sb::cli
