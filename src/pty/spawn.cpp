#include "pty/spawn.hpp"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <set>
#include <signal.h>
#include <sstream>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fd.hpp"

namespace sb::pty {

namespace {

// What the child writes to the error pipe when it cannot exec.
struct ChildFailure {
    int stage;
    int error;
};

enum Stage { StageSetsid = 1, StageControllingTty, StageDup, StageChdir, StageExec };

const char* stage_name(int stage) {
    switch (stage) {
    case StageSetsid:
        return "setsid";
    case StageControllingTty:
        return "set controlling terminal";
    case StageDup:
        return "dup2";
    case StageChdir:
        return "chdir";
    case StageExec:
        return "exec";
    default:
        return "spawn";
    }
}

// Resolves the program the way execvp would, but against the worker's PATH;
// done before the fork because the child may not allocate.
std::string resolve(const std::string& program, const Environment& env,
                    const std::filesystem::path& cwd, int& error) {
    error = 0;
    if (program.find('/') != std::string::npos) {
        return program;
    }
    std::string path(env.find("PATH").value_or(""));
    if (path.empty()) {
        path = "/usr/local/bin:/usr/bin:/bin";
    }
    int first_error = ENOENT;
    std::stringstream directories(path);
    std::string directory;
    while (std::getline(directories, directory, ':')) {
        std::filesystem::path candidate =
            std::filesystem::path(directory.empty() ? "." : directory) / program;
        if (candidate.is_relative()) {
            candidate = cwd / candidate;
        }
        if (::access(candidate.c_str(), X_OK) == 0) {
            std::error_code ec;
            if (std::filesystem::is_regular_file(candidate, ec)) {
                return candidate.string();
            }
        } else if (errno == EACCES && ::access(candidate.c_str(), F_OK) == 0) {
            first_error = EACCES;
        }
    }
    error = first_error;
    return {};
}

[[noreturn]] void fail_in_child(int pipe_fd, int stage) {
    const ChildFailure failure{stage, errno};
    // Only async-signal-safe calls between fork and exec.
    [[maybe_unused]] const ssize_t n = ::write(pipe_fd, &failure, sizeof failure);
    ::_exit(127);
}

} // namespace

std::optional<std::string_view> Environment::find(std::string_view name) const {
    std::string_view rest = text_;
    while (!rest.empty()) {
        const std::string_view entry = rest.substr(0, rest.find('\0'));
        if (entry.size() > name.size() && entry.starts_with(name) && entry[name.size()] == '=') {
            return entry.substr(name.size() + 1);
        }
        rest.remove_prefix(std::min(entry.size() + 1, rest.size()));
    }
    return std::nullopt;
}

std::vector<char*> Environment::pointers() const {
    std::vector<char*> entries;
    // execve takes char* const[] but does not write through them.
    auto* text = const_cast<char*>(text_.data());
    for (std::size_t at = 0; at < text_.size(); at = text_.find('\0', at) + 1) {
        entries.push_back(text + at);
    }
    entries.push_back(nullptr);
    return entries;
}

std::variant<pid_t, SpawnError> spawn(const SpawnSpec& spec, int slave_fd) {
    if (spec.argv.empty()) {
        return SpawnError{"exec", EINVAL, "empty command"};
    }
    int resolve_error = 0;
    const std::string program = resolve(spec.argv[0], spec.env, spec.cwd, resolve_error);
    if (program.empty()) {
        return SpawnError{"exec", resolve_error,
                          spec.argv[0] + ": " + std::strerror(resolve_error) +
                              (resolve_error == ENOENT ? " (not found on the worker's PATH)" : "")};
    }

    // Everything the child needs is built before the fork.
    std::vector<char*> argv;
    for (const auto& arg : spec.argv) {
        argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);
    const std::vector<char*> envp = spec.env.pointers();
    const std::string cwd = spec.cwd.string();

    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        return SpawnError{"pipe", errno, std::string("pipe: ") + std::strerror(errno)};
    }
    util::ScopedFd error_read(pipe_fds[0]);
    util::ScopedFd error_write(pipe_fds[1]);

    sigset_t all;
    sigset_t previous;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &previous);

    const pid_t pid = ::fork();
    if (pid == 0) {
        const int report = error_write.get();
        // Dispositions the server installed (libuv's signal handlers) must not
        // leak into the worker; ignored signals would be inherited too.
        struct sigaction default_action {};
        default_action.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; ++sig) {
            ::sigaction(sig, &default_action, nullptr);
        }
        sigset_t none;
        sigemptyset(&none);
        ::pthread_sigmask(SIG_SETMASK, &none, nullptr);

        if (::setsid() < 0) {
            fail_in_child(report, StageSetsid);
        }
        if (::ioctl(slave_fd, TIOCSCTTY, 0) != 0) {
            fail_in_child(report, StageControllingTty);
        }
        if (::dup2(slave_fd, 0) < 0 || ::dup2(slave_fd, 1) < 0 || ::dup2(slave_fd, 2) < 0) {
            fail_in_child(report, StageDup);
        }
        // Every descriptor above stderr closes at exec (the error pipe too,
        // which is how the parent learns the exec succeeded).
        if (::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) != 0) {
            const long max = ::sysconf(_SC_OPEN_MAX);
            for (int fd = 3; fd < (max > 0 ? max : 1024); ++fd) {
                if (fd != report) {
                    ::close(fd);
                }
            }
        }
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
            fail_in_child(report, StageChdir);
        }
        ::execve(program.c_str(), argv.data(), envp.data());
        fail_in_child(report, StageExec);
    }
    const int fork_error = errno;
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    if (pid < 0) {
        return SpawnError{"fork", fork_error, std::string("fork: ") + std::strerror(fork_error)};
    }

    error_write.reset();
    ChildFailure failure{};
    ssize_t n;
    do {
        n = ::read(error_read.get(), &failure, sizeof failure);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof failure)) {
        // The child is exiting with 127 right after its report; reap it here
        // so a failed spawn leaves no zombie and no pid for the caller.
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        std::string what = stage_name(failure.stage);
        std::string subject = failure.stage == StageChdir  ? "cwd " + cwd
                              : failure.stage == StageExec ? program
                                                           : what;
        return SpawnError{what, failure.error,
                          (failure.stage == StageExec ? "exec " : "") + subject + ": " +
                              std::strerror(failure.error)};
    }
    return pid;
}

int signal_session(pid_t session_id, int signal) {
    // kill(-0) and kill(-1) would signal our own group or every process we
    // may signal; a session id that small is never a worker's.
    if (session_id <= 1) {
        return 0;
    }
    int signalled = 0;
    std::set<pid_t> groups;
    groups.insert(session_id);
    // A job-control shell puts each job in its own group inside the session;
    // /proc tells which groups belong to it.
    if (DIR* proc = ::opendir("/proc")) {
        while (const dirent* entry = ::readdir(proc)) {
            const char* name = entry->d_name;
            if (name[0] < '0' || name[0] > '9') {
                continue;
            }
            std::ifstream stat(std::string("/proc/") + name + "/stat");
            std::string line;
            if (!std::getline(stat, line)) {
                continue;
            }
            // Fields after the command (which may hold spaces) start after the last ')'.
            const auto close = line.rfind(')');
            if (close == std::string::npos) {
                continue;
            }
            std::istringstream fields(line.substr(close + 2));
            char state = 0;
            pid_t parent = 0;
            pid_t group = 0;
            pid_t session = 0;
            if (fields >> state >> parent >> group >> session && session == session_id) {
                groups.insert(group);
            }
        }
        ::closedir(proc);
    }
    const pid_t own_group = ::getpgrp();
    for (const pid_t group : groups) {
        if (group <= 1 || group == own_group) {
            continue;
        }
        if (::kill(-group, signal) == 0) {
            ++signalled;
        }
    }
    return signalled;
}

} // namespace sb::pty
