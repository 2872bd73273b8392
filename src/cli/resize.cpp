#include <cstdio>

#include "cli/command.hpp"
#include "cli/server_connection.hpp"
#include "util/regex.hpp"

namespace sb::cli {

namespace {

struct ResizeOptions {
    std::string worker;
    std::string size;
};

int run_resize(const GlobalOptions& globals, const ResizeOptions& options) {
    static const util::Regex form("([0-9]{1,4})x([0-9]{1,4})");
    const auto match = form.match_groups(options.size);
    if (!match) {
        std::fprintf(stderr, "switchboard: resize: expected COLSxROWS like 120x40, got \"%s\"\n",
                     options.size.c_str());
        return exit_usage;
    }
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    auto result = call(*client, "resize",
                       {{"worker", options.worker},
                        {"cols", std::stoi((*match)[0])},
                        {"rows", std::stoi((*match)[1])}});
    return result ? exit_ok : exit_failure;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<ResizeOptions>();
    command.add_option("WORKER", options->worker, "The worker to resize").required();
    command.add_option("SIZE", options->size, "New size as COLSxROWS (10..1000 x 5..500)")
        .required();
    command.footer("Exit status: 0; 1 when no server runs, the worker is unknown or the size is "
                   "out of range; 2 usage error.");
    return [&globals, options] { return run_resize(globals, *options); };
}

} // namespace

extern const CommandSpec resize_command;
const CommandSpec resize_command{"resize", "Change the terminal size of a worker", &define};

} // namespace sb::cli
