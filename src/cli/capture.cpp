#include <iostream>

#include "cli/command.hpp"
#include "cli/server_connection.hpp"

namespace sb::cli {

namespace {

struct CaptureOptions {
    std::string worker;
    bool ansi = false;
    int scrollback = 0;
    bool json = false;
};

int run_capture(const GlobalOptions& globals, const CaptureOptions& options) {
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    auto result = call(
        *client, "capture",
        {{"worker", options.worker}, {"ansi", options.ansi}, {"scrollback", options.scrollback}});
    if (!result) {
        return exit_failure;
    }
    if (options.json) {
        std::cout << result->dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
        return exit_ok;
    }
    std::string text = (*result)["text"].get<std::string>();
    if (!text.empty() && text.back() != '\n') {
        text += '\n';
    }
    std::cout << text;
    return exit_ok;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<CaptureOptions>();
    command.add_option("WORKER", options->worker, "The worker whose screen to print").required();
    command.add_flag(
        "-e,--ansi", options->ansi,
        "Keep colours and attributes as ANSI escape sequences (like tmux capture-pane -e)");
    command
        .add_option("--scrollback", options->scrollback,
                    "Also print the last N lines of scrollback above the screen")
        .option_text("N")
        .check_range(0, 10'000'000);
    command.add_flag("--json", options->json,
                     "Print the text with the cursor, title, size and modes as JSON");
    command.footer("Exit status: 0, or 1 when no server runs or there is no such worker.");
    return [&globals, options] { return run_capture(globals, *options); };
}

} // namespace

extern const CommandSpec capture_command;
const CommandSpec capture_command{"capture", "Print what a worker's screen shows", &define};

} // namespace sb::cli
