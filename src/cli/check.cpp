#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/workspace_file.hpp"
#include "util/duration.hpp"
#include "util/strings.hpp"
#include "workspace/load.hpp"
#include "workspace/to_json.hpp"

namespace sb::cli {

namespace {

struct CheckOptions {
    bool json = false;
};

std::string quote_word(const std::string& word) {
    if (!word.empty() && word.find_first_of(" \t\n\"'\\$`") == std::string::npos) {
        return word;
    }
    std::string out = "'";
    for (const char c : word) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

std::string command_line(const workspace::Command& command) {
    if (command.via_shell) {
        return command.shell_line + "  (through the shell)";
    }
    std::vector<std::string> words;
    for (const auto& word : command.argv) {
        words.push_back(quote_word(word));
    }
    return util::join(words, " ");
}

// The profile fields a worker's delivery settings replace, as `key value`.
std::vector<std::string> profile_overrides(const workspace::DeliverySettings& d) {
    std::vector<std::string> out;
    const auto text = [&](const char* key, const std::optional<std::string>& value) {
        if (value) {
            out.push_back(std::string(key) + " " + nlohmann::json(*value).dump());
        }
    };
    const auto flag = [&](const char* key, const std::optional<bool>& value) {
        if (value) {
            out.push_back(std::string(key) + (*value ? " true" : " false"));
        }
    };
    if (d.body_delay) {
        out.push_back("body_delay " + util::format_duration(*d.body_delay));
    }
    text("ready_pattern", d.ready_pattern);
    text("busy_pattern", d.busy_pattern);
    text("placeholder_pattern", d.placeholder_pattern);
    if (d.submit_key) {
        out.push_back("submit_key " + *d.submit_key);
    }
    flag("paste", d.paste);
    flag("header", d.header);
    flag("queues_input", d.queues_input);
    flag("wait_for_echo", d.wait_for_echo);
    return out;
}

void print_summary(const workspace::Workspace& ws) {
    std::size_t width = 0;
    for (const auto& worker : ws.workers) {
        width = std::max(width, worker.name.size());
    }
    fmt::print("workspace \"{}\" ({}): valid, {} worker{}\n", ws.name, ws.file.string(),
               ws.workers.size(), ws.workers.size() == 1 ? "" : "s");
    for (const auto& worker : ws.workers) {
        const auto& s = worker.settings;
        fmt::print("  {:<{}}  {}\n", worker.name, width, command_line(worker.command));
        const std::string indent(width + 4, ' ');
        fmt::print("{}profile {} · {}x{} · scrollback {} · restart {} · stop_timeout {}\n", indent,
                   s.profile, s.size.cols, s.size.rows, s.scrollback, to_string(s.restart),
                   util::format_duration(s.stop_timeout));
        fmt::print("{}cwd {}", indent, worker.cwd.string());
        if (!worker.groups.empty()) {
            fmt::print(" · groups {}", util::join(worker.groups, ", "));
        }
        if (!s.env.empty()) {
            std::vector<std::string> names;
            for (const auto& [name, value] : s.env) {
                names.push_back(name);
            }
            fmt::print(" · env {}", util::join(names, ", "));
        }
        fmt::print("\n");
        fmt::print("{}delivery: max_pending {} · idle {} · verify_timeout {} · enter_delay {} · "
                   "throttle {}..{}\n",
                   indent, s.delivery.max_pending, util::format_duration(s.delivery.idle),
                   util::format_duration(s.delivery.verify_timeout),
                   s.delivery.enter_delay ? util::format_duration(*s.delivery.enter_delay)
                                          : std::string("(profile's)"),
                   util::format_duration(s.delivery.throttle.min),
                   util::format_duration(s.delivery.throttle.max));
        fmt::print("{}          hold {} · ready_timeout {} · max_body {}\n", indent,
                   util::format_duration(s.delivery.hold),
                   util::format_duration(s.delivery.ready_timeout), s.delivery.max_body);
        if (auto overrides = profile_overrides(s.delivery); !overrides.empty()) {
            fmt::print("{}          profile overrides: {}\n", indent, util::join(overrides, " · "));
        }
    }
    fmt::print("attach prefix {}\n", ws.attach.prefix);
}

int run_check(const GlobalOptions& globals, const CheckOptions& options) {
    std::string error;
    const auto choice = choose_workspace_file(globals, error);
    if (!choice) {
        if (options.json) {
            std::cout << nlohmann::json{{"valid", false}, {"error", error}}.dump(2) << '\n';
        } else {
            std::cerr << "switchboard: " << error << '\n';
        }
        return exit_failure;
    }
    if (choice->discovered && !options.json) {
        std::cerr << "switchboard: using " << choice->path.string() << '\n';
    }
    const auto result = workspace::load_file(choice->path);
    const auto& diagnostics = result.diagnostics;

    if (options.json) {
        nlohmann::json out;
        out["file"] = choice->path.string();
        out["valid"] = result.workspace.has_value();
        out["diagnostics"] = nlohmann::json::array();
        for (const auto& d : diagnostics.all()) {
            out["diagnostics"].push_back(workspace::to_json(d));
        }
        if (result.workspace) {
            out["workspace"] = workspace::to_json(*result.workspace);
        }
        std::cout << out.dump(2) << '\n';
        return result.workspace ? exit_ok : exit_failure;
    }

    for (const auto& d : diagnostics.all()) {
        std::cerr << d.to_string() << '\n';
    }
    if (!result.workspace) {
        const auto errors = diagnostics.error_count();
        const auto warnings = diagnostics.warning_count();
        std::cerr << fmt::format("{}: {} error{}", choice->path.string(), errors,
                                 errors == 1 ? "" : "s");
        if (warnings > 0) {
            std::cerr << fmt::format(", {} warning{}", warnings, warnings == 1 ? "" : "s");
        }
        std::cerr << '\n';
        return exit_failure;
    }
    print_summary(*result.workspace);
    return exit_ok;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<CheckOptions>();
    command.add_flag("--json", options->json,
                     "Print the result (workspace or diagnostics) as JSON on stdout");
    command.footer("Exit status: 0 valid, 1 invalid or unreadable, 2 usage error.");
    return [&globals, options] { return run_check(globals, *options); };
}

} // namespace

extern const CommandSpec check_command;
const CommandSpec check_command{
    "check",
    "Load and validate a workspace file and print its effective settings",
    &define,
};

} // namespace sb::cli
