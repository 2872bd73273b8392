#pragma once

#include <filesystem>
#include <string>
#include <sys/types.h>
#include <variant>
#include <vector>

namespace sb::pty {

struct SpawnSpec {
    // argv[0] is resolved against PATH from `env` (not the server's PATH).
    std::vector<std::string> argv;
    // The complete environment, "NAME=value" each.
    std::vector<std::string> env;
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
