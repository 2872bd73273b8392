#include "worker/environment.hpp"

extern char** environ;

namespace sb::worker {

std::map<std::string, std::string> server_environment() {
    std::map<std::string, std::string> env;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string text(*entry);
        const auto equals = text.find('=');
        if (equals != std::string::npos && equals > 0) {
            env.emplace(text.substr(0, equals), text.substr(equals + 1));
        }
    }
    return env;
}

pty::SpawnSpec spawn_spec(const workspace::Worker& worker, const WorkerContext& context,
                          const std::map<std::string, std::string>& server_env) {
    std::map<std::string, std::string> env = server_env;
    // The server's own terminal is not the worker's: a worker must not
    // believe it runs inside tmux or another switchboard pane.
    for (const char* inherited : {"TMUX", "TMUX_PANE", "TERM", "COLORTERM", "COLUMNS", "LINES"}) {
        env.erase(inherited);
    }
    for (const auto& [name, value] : worker.settings.env) {
        env[name] = value;
    }
    env["SWITCHBOARD_SOCKET"] = context.socket_path;
    env["SWITCHBOARD_WORKER"] = worker.name;
    env["SWITCHBOARD_WORKSPACE"] = context.workspace_name;
    env.try_emplace("TERM", "xterm-256color");
    env.try_emplace("COLORTERM", "truecolor");

    pty::SpawnSpec spec;
    if (worker.command.via_shell) {
        std::string shell = "/bin/sh";
        if (auto it = env.find("SHELL"); it != env.end() && !it->second.empty()) {
            shell = it->second;
        }
        spec.argv = {shell, "-c", worker.command.shell_line};
    } else {
        spec.argv = worker.command.argv;
    }
    for (const auto& [name, value] : env) {
        spec.env.add(name, value);
    }
    spec.cwd = worker.cwd;
    return spec;
}

} // namespace sb::worker
