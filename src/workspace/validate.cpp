#include "workspace/validate.hpp"

#include <optional>
#include <sstream>
#include <system_error>
#include <unistd.h>

namespace sb::workspace {

namespace {

bool is_executable_file(const std::filesystem::path& path) {
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

// Words a shell line may start with that are not the program it runs.
constexpr std::string_view shell_words[] = {
    "exec", "command", "nohup", "env", "time", "builtin", "then", "do", "!", "{", "(",
};

constexpr std::string_view shell_builtins[] = {
    "cd",    "export", "source", ".",     "set",   "if",    "for",   "while", "until", "case",
    "eval",  "echo",   "printf", "test",  "[",     "true",  "false", "read",  "trap",  "ulimit",
    "umask", "exit",   "return", "alias", "unset", "shift", "wait",  "sleep", ":",     "select",
};

} // namespace

std::optional<std::filesystem::path> find_program(const std::string& program,
                                                  const std::string& path,
                                                  const std::filesystem::path& cwd) {
    if (program.find('/') != std::string::npos) {
        const auto candidate = cwd / program;
        return is_executable_file(candidate) ? std::optional(candidate) : std::nullopt;
    }
    std::stringstream directories(path);
    std::string directory;
    while (std::getline(directories, directory, ':')) {
        if (directory.empty()) {
            directory = ".";
        }
        std::filesystem::path candidate = std::filesystem::path(directory) / program;
        if (candidate.is_relative()) {
            candidate = cwd / candidate;
        }
        if (is_executable_file(candidate)) {
            return candidate;
        }
    }
    return std::nullopt;
}

bool program_exists(const std::string& program, const std::string& path,
                    const std::filesystem::path& cwd) {
    return find_program(program, path, cwd).has_value();
}

std::string program_of(const Command& command) {
    if (command.via_shell) {
        return program_of_shell_line(command.shell_line);
    }
    return command.argv.empty() ? std::string() : command.argv[0];
}

std::string search_path_of(const Worker& worker, const EnvironmentLookup& environment) {
    if (auto it = worker.settings.env.find("PATH"); it != worker.settings.env.end()) {
        return it->second;
    }
    if (auto inherited = environment("PATH")) {
        return *inherited;
    }
    return "/usr/local/bin:/usr/bin:/bin";
}

std::string program_of_shell_line(const std::string& line) {
    std::istringstream words(line);
    std::string word;
    while (words >> word) {
        if (word.find('=') != std::string::npos && word.find('=') > 0 && word[0] != '-') {
            continue; // A variable assignment before the command.
        }
        if (std::find(std::begin(shell_words), std::end(shell_words), word) !=
            std::end(shell_words)) {
            continue;
        }
        if (word.starts_with("-")) {
            continue; // An option of exec/env/nohup.
        }
        if (std::find(std::begin(shell_builtins), std::end(shell_builtins), word) !=
            std::end(shell_builtins)) {
            return "";
        }
        // Quotes, expansions and redirections need a shell to tell what runs.
        if (word.find_first_of("\"'`$<>|;&(){}*?[]\\~") != std::string::npos) {
            return "";
        }
        return word;
    }
    return "";
}

void validate(const Workspace& workspace, const SourceMap& positions,
              const EnvironmentLookup& environment, Diagnostics& diagnostics) {
    const std::string file = workspace.file.string();
    for (const auto& worker : workspace.workers) {
        const auto found = positions.workers.find(worker.name);
        const SourceMap::WorkerPositions at =
            found == positions.workers.end() ? SourceMap::WorkerPositions{} : found->second;
        const std::string where = "worker \"" + worker.name + "\": ";

        std::error_code ec;
        const auto status = std::filesystem::status(worker.cwd, ec);
        if (!std::filesystem::exists(status)) {
            diagnostics.error(file, at.cwd.line, at.cwd.column,
                              where + "cwd: " + quote(worker.cwd.string(), 1024) +
                                  " does not exist; create it or fix the path (relative paths "
                                  "start at the workspace file's directory)");
            continue;
        }
        if (!std::filesystem::is_directory(status)) {
            diagnostics.error(file, at.cwd.line, at.cwd.column,
                              where + "cwd: " + quote(worker.cwd.string(), 1024) +
                                  " is not a directory; name a directory to run the worker in");
            continue;
        }

        const std::string program = program_of(worker.command);
        if (program.empty()) {
            continue;
        }
        if (!program_exists(program, search_path_of(worker, environment), worker.cwd)) {
            diagnostics.warning(file, at.command.line, at.command.column,
                                where + "command: program " + quote(program) +
                                    " is not found on PATH (the worker will fail to start "
                                    "until it is installed; `switchboard doctor` says how)");
        }
    }
}

} // namespace sb::workspace
