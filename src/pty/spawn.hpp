#pragma once

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <variant>
#include <vector>

namespace sb::pty {

// A process's complete environment, "NAME=value" entries in order, kept in
// one string with a NUL after each: a worker holds its own for every
// restart, and one allocation costs a fraction of one string per variable
// (about 4 KiB per idle worker with a typical environment).
class Environment {
public:
    Environment() = default;
    Environment(std::initializer_list<std::string_view> entries) {
        for (const auto entry : entries) {
            add(entry);
        }
    }

    void add(std::string_view entry) {
        text_.append(entry);
        text_.push_back('\0');
    }
    void add(std::string_view name, std::string_view value) {
        text_.append(name);
        text_.push_back('=');
        add(value);
    }
    // The value of the first entry named `name`, or nothing.
    std::optional<std::string_view> find(std::string_view name) const;
    // Pointers to each entry followed by a null pointer, as execve wants;
    // valid while this environment is unchanged.
    std::vector<char*> pointers() const;

private:
    std::string text_;
};

struct SpawnSpec {
    // argv[0] is resolved against PATH from `env` (not the server's PATH).
    std::vector<std::string> argv;
    Environment env;
    std::filesystem::path cwd;
};

struct SpawnError {
    // What failed ("exec", "chdir", "setsid", "fork", ...) and errno.
    std::string stage;
    int error = 0;
    std::string message;
};

// Starts argv in a new session whose controlling terminal is `slave_fd`,
// which becomes its stdin, stdout and stderr. Signals are blocked across the
// fork and set back to their defaults in the child, every other descriptor is
// closed at exec, and a failure before exec (a bad cwd, a missing program) is
// reported through a close-on-exec pipe rather than as an exit status 127.
std::variant<pid_t, SpawnError> spawn(const SpawnSpec& spec, int slave_fd);

// Sends `signal` to every process of the session `session_id` leads: its
// process group, and the groups a job-control shell made inside it. Returns
// how many processes or groups were signalled.
int signal_session(pid_t session_id, int signal);

} // namespace sb::pty
