#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/attach.hpp"
#include "cli/command.hpp"
#include "cli/workspace_file.hpp"
#include "server/lock.hpp"
#include "server/run.hpp"
#include "util/fd.hpp"
#include "util/log.hpp"
#include "util/notify.hpp"
#include "util/paths.hpp"
#include "workspace/load.hpp"

namespace sb::cli {

namespace {

struct UpOptions {
    bool foreground = false;
    bool detach = false;
};

// Detaches the server from the terminal (double fork, new session, stdio to
// /dev/null, logs to the state directory) and returns in the original
// process once the server has started every worker, or failed to.
int run_daemon(workspace::Workspace workspace, worker::WorkerContext context,
               server::WorkspaceLock& lock, const std::filesystem::path& state_dir,
               const std::string& log_level) {
    const auto log_file = state_dir / "server.log";
    int ready_pipe[2];
    if (::pipe2(ready_pipe, O_CLOEXEC) != 0) {
        std::cerr << "switchboard: pipe: " << std::strerror(errno) << '\n';
        return exit_failure;
    }
    util::ScopedFd ready_read(ready_pipe[0]);
    util::ScopedFd ready_write(ready_pipe[1]);
    std::cout.flush();
    std::cerr.flush();

    const pid_t first = ::fork();
    if (first < 0) {
        std::cerr << "switchboard: fork: " << std::strerror(errno) << '\n';
        return exit_failure;
    }
    if (first == 0) {
        ready_read.reset();
        ::setsid();
        const pid_t second = ::fork();
        if (second != 0) {
            ::_exit(second < 0 ? 1 : 0);
        }
        // The server: no terminal, no stdio, its own log.
        const int null = ::open("/dev/null", O_RDWR);
        if (null >= 0) {
            ::dup2(null, 0);
            ::dup2(null, 1);
            ::dup2(null, 2);
            if (null > 2) {
                ::close(null);
            }
        }
        ::umask(077);
        lock.record_pid(::getpid());
        sb::log::to_file(log_file, log_level);
        const int status =
            server::run(std::move(workspace), std::move(context), state_dir / "deliveries.db",
                        [&](const std::string& error) {
                            const std::string answer = error.empty() ? "ok" : "error: " + error;
                            [[maybe_unused]] const ssize_t n =
                                ::write(ready_write.get(), answer.data(), answer.size());
                            ready_write.reset();
                        });
        ::_exit(status);
    }
    ready_write.reset();
    int status = 0;
    while (::waitpid(first, &status, 0) < 0 && errno == EINTR) {
    }
    std::string answer;
    char buffer[512];
    while (true) {
        const ssize_t n = ::read(ready_read.get(), buffer, sizeof buffer);
        if (n > 0) {
            answer.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    if (answer == "ok") {
        return exit_ok;
    }
    if (answer.starts_with("error: ")) {
        std::cerr << "switchboard: the server could not start: " << answer.substr(7) << '\n';
    } else {
        std::cerr << "switchboard: the server did not start; see " << log_file.string() << '\n';
    }
    return exit_failure;
}

int run_up(const GlobalOptions& globals, const UpOptions& options) {
    std::string error;
    const auto choice = choose_workspace_file(globals, error);
    if (!choice) {
        std::cerr << "switchboard: " << error << '\n';
        return exit_failure;
    }
    auto loaded = workspace::load_file(choice->path);
    for (const auto& d : loaded.diagnostics.all()) {
        std::cerr << d.to_string() << '\n';
    }
    if (!loaded.workspace) {
        std::cerr << "switchboard: not starting; fix the errors above (`switchboard check` "
                     "shows them too)\n";
        return exit_failure;
    }
    workspace::Workspace workspace = std::move(*loaded.workspace);

    auto runtime = util::runtime_directory();
    if (auto* failure = std::get_if<util::PathError>(&runtime)) {
        std::cerr << "switchboard: " << failure->message << '\n';
        return exit_failure;
    }
    const auto runtime_dir = std::get<std::filesystem::path>(runtime);
    auto acquired = server::acquire_lock(runtime_dir, workspace.name);
    if (auto* held = std::get_if<server::LockHeld>(&acquired)) {
        std::cerr << "switchboard: " << held->message << '\n';
        return exit_failure;
    }
    auto& lock = std::get<server::WorkspaceLock>(acquired);

    worker::WorkerContext context{
        .workspace_name = workspace.name,
        .socket_path = globals.socket.empty() ? (runtime_dir / (workspace.name + ".sock")).string()
                                              : globals.socket,
    };

    auto state = util::state_directory(workspace.name);
    if (auto* failure = std::get_if<util::PathError>(&state)) {
        std::cerr << "switchboard: " << failure->message << '\n';
        return exit_failure;
    }
    const auto state_dir = std::get<std::filesystem::path>(state);

    if (options.foreground) {
        sb::log::to_stderr(globals.log_level);
        // Under systemd (Type=notify) the server says when it is ready; the
        // workers must not inherit the socket.
        const std::string notify_socket = util::take_notify_socket();
        return server::run(
            std::move(workspace), std::move(context), state_dir / "deliveries.db",
            [&notify_socket](const std::string& error) {
                if (!error.empty()) {
                    std::cerr << "switchboard: the server could not start: " << error << '\n';
                    util::notify_service_manager(notify_socket, "STATUS=could not start: " + error);
                    return;
                }
                util::notify_service_manager(notify_socket, "READY=1");
            });
    }

    const auto log_file = state_dir / "server.log";
    const std::string name = workspace.name;
    const std::string socket = context.socket_path;
    const std::size_t workers = workspace.workers.size();
    const int status =
        run_daemon(std::move(workspace), std::move(context), lock, state_dir, globals.log_level);
    // In a terminal, `up` ends where a person wants to be: attached.
    if (status == exit_ok && !options.detach && ::isatty(STDIN_FILENO) != 0 &&
        ::isatty(STDOUT_FILENO) != 0) {
        // The server holds the lock now; the attached client must not keep
        // it (on the same open file) after the server has gone.
        lock = server::WorkspaceLock();
        return attach_terminal(socket, name, "", std::nullopt);
    }
    if (status == exit_ok) {
        std::cout << "workspace \"" << name << "\" is up: " << workers << " worker"
                  << (workers == 1 ? "" : "s") << "\n  socket " << socket << "\n  log    "
                  << log_file.string() << "\n";
    }
    return status;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<UpOptions>();
    command.add_flag("-F,--foreground", options->foreground,
                     "Run the server in this terminal, logging to stderr, until SIGINT or SIGTERM");
    command.add_flag("-d,--detach", options->detach,
                     "Start the server and return without attaching, even in a terminal");
    command.footer("Exit status: 0 when the server ran (or, without --foreground, started); 1 "
                   "when the workspace is invalid, already running, or could not start; 2 usage "
                   "error.");
    return [&globals, options] { return run_up(globals, *options); };
}

} // namespace

extern const CommandSpec up_command;
const CommandSpec up_command{
    "up",
    "Start the server of a workspace and every worker in it",
    &define,
};

} // namespace sb::cli
