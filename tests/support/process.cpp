#include "process.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <signal.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace sb::test {

namespace {

void drain(int fd, std::string& into, bool& open) {
    char buffer[65536];
    while (true) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n > 0) {
            into.append(buffer, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            open = false;
        }
        return;
    }
}

} // namespace

namespace {

struct Prepared {
    std::vector<std::string> env_strings;
    std::vector<char*> env_pointers;
    std::vector<std::string> args;
    std::vector<char*> arg_pointers;
};

Prepared prepare(const std::vector<std::string>& argv, const RunOptions& options) {
    Prepared p;
    std::map<std::string, std::string> environment;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string text(*entry);
        const auto equals = text.find('=');
        if (equals != std::string::npos) {
            environment[text.substr(0, equals)] = text.substr(equals + 1);
        }
    }
    for (const auto& [name, value] : options.env) {
        if (value) {
            environment[name] = *value;
        } else {
            environment.erase(name);
        }
    }
    for (const auto& [name, value] : environment) {
        p.env_strings.push_back(name + "=" + value);
    }
    for (auto& s : p.env_strings) {
        p.env_pointers.push_back(s.data());
    }
    p.env_pointers.push_back(nullptr);
    p.args = argv;
    for (auto& s : p.args) {
        p.arg_pointers.push_back(s.data());
    }
    p.arg_pointers.push_back(nullptr);
    return p;
}

} // namespace

RunResult run(const std::vector<std::string>& argv, const RunOptions& options) {
    int out_pipe[2];
    int err_pipe[2];
    int in_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 ||
        ::pipe2(in_pipe, O_CLOEXEC) != 0) {
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    }

    Prepared prepared = prepare(argv, options);
    auto& arg_pointers = prepared.arg_pointers;
    auto& env_pointers = prepared.env_pointers;
    const std::string cwd = options.cwd.string();

    const pid_t pid = ::fork();
    if (pid < 0) {
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        ::setpgid(0, 0);
        ::dup2(in_pipe[0], 0);
        ::dup2(out_pipe[1], 1);
        ::dup2(err_pipe[1], 2);
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
            ::_exit(126);
        }
        ::execve(arg_pointers[0], arg_pointers.data(), env_pointers.data());
        ::execvpe(arg_pointers[0], arg_pointers.data(), env_pointers.data());
        ::_exit(127);
    }
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    ::fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
    ::fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);
    ::fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);

    RunResult result;
    std::size_t written = 0;
    bool in_open = true;
    if (options.input.empty()) {
        ::close(in_pipe[1]);
        in_open = false;
    }
    bool out_open = true;
    bool err_open = true;
    const auto deadline = std::chrono::steady_clock::now() + options.timeout;
    while (out_open || err_open) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            result.timed_out = true;
            ::kill(-pid, SIGKILL);
            break;
        }
        pollfd fds[3] = {{out_pipe[0], POLLIN, 0},
                         {err_pipe[0], POLLIN, 0},
                         {in_open ? in_pipe[1] : -1, POLLOUT, 0}};
        if (!out_open) {
            fds[0].fd = -1;
        }
        if (!err_open) {
            fds[1].fd = -1;
        }
        ::poll(fds, 3, static_cast<int>(std::min<long long>(left.count(), 1000)));
        if (out_open) {
            drain(out_pipe[0], result.out, out_open);
        }
        if (err_open) {
            drain(err_pipe[0], result.err, err_open);
        }
        if (in_open && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
            const ssize_t n =
                ::write(in_pipe[1], options.input.data() + written, options.input.size() - written);
            if (n > 0) {
                written += static_cast<std::size_t>(n);
            }
            if ((n < 0 && errno != EAGAIN) || written == options.input.size()) {
                ::close(in_pipe[1]);
                in_open = false;
            }
        }
    }
    if (in_open) {
        ::close(in_pipe[1]);
    }
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        result.exit_status = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.signal = WTERMSIG(status);
    }
    return result;
}

std::string switchboard_binary() {
    if (const char* path = std::getenv("SWITCHBOARD_BIN")) {
        return path;
    }
    throw std::runtime_error("SWITCHBOARD_BIN is not set; run the tests through meson test");
}

std::filesystem::path test_data(const std::string& relative) {
    if (const char* root = std::getenv("SWITCHBOARD_TEST_DATA")) {
        return std::filesystem::path(root) / relative;
    }
    throw std::runtime_error("SWITCHBOARD_TEST_DATA is not set; run the tests through meson test");
}

TempDir::TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "switchboard-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    }
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::string& relative,
                                     const std::string& contents) const {
    const auto file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary);
    out << contents;
    return file;
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv,
                                     const RunOptions& options) {
    int out_pipe[2];
    int err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    }
    Prepared prepared = prepare(argv, options);
    const std::string cwd = options.cwd.string();
    pid_ = ::fork();
    if (pid_ < 0) {
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid_ == 0) {
        ::setpgid(0, 0);
        const int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, 0);
        ::dup2(out_pipe[1], 1);
        ::dup2(err_pipe[1], 2);
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
            ::_exit(126);
        }
        ::execvpe(prepared.arg_pointers[0], prepared.arg_pointers.data(),
                  prepared.env_pointers.data());
        ::_exit(127);
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    ::fcntl(out_fd_, F_SETFL, O_NONBLOCK);
    ::fcntl(err_fd_, F_SETFL, O_NONBLOCK);
    reader_ = std::thread([this] { read_loop(); });
}

void BackgroundProcess::read_loop() {
    bool out_open = true;
    bool err_open = true;
    while ((out_open || err_open) && !stop_reading_) {
        pollfd fds[2] = {{out_open ? out_fd_ : -1, POLLIN, 0},
                         {err_open ? err_fd_ : -1, POLLIN, 0}};
        ::poll(fds, 2, 50);
        std::string out_chunk;
        std::string err_chunk;
        if (out_open) {
            drain(out_fd_, out_chunk, out_open);
        }
        if (err_open) {
            drain(err_fd_, err_chunk, err_open);
        }
        if (!out_chunk.empty() || !err_chunk.empty()) {
            std::lock_guard lock(mutex_);
            out_ += out_chunk;
            err_ += err_chunk;
        }
    }
}

std::string BackgroundProcess::out() const {
    std::lock_guard lock(mutex_);
    return out_;
}

std::string BackgroundProcess::err() const {
    std::lock_guard lock(mutex_);
    return err_;
}

BackgroundProcess::~BackgroundProcess() {
    if (!done_ && pid_ > 0) {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    stop_reading_ = true;
    if (reader_.joinable()) {
        reader_.join();
    }
    if (out_fd_ >= 0) {
        ::close(out_fd_);
    }
    if (err_fd_ >= 0) {
        ::close(err_fd_);
    }
}

void BackgroundProcess::signal(int signum) const {
    if (!done_) {
        ::kill(pid_, signum);
    }
}

bool BackgroundProcess::wait(std::chrono::milliseconds timeout) {
    if (done_) {
        return true;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        collect();
        int status = 0;
        const pid_t result = ::waitpid(pid_, &status, WNOHANG);
        if (result == pid_) {
            done_ = true;
            exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            // What it printed last may still sit in the pipes.
            ::usleep(100000);
            return true;
        }
        ::usleep(10000);
    }
    return false;
}

bool BackgroundProcess::wait_for_output(const std::string& text,
                                        std::chrono::milliseconds timeout) {
    return eventually(
        [&] {
            std::lock_guard lock(mutex_);
            return out_.find(text) != std::string::npos || err_.find(text) != std::string::npos;
        },
        timeout);
}

bool process_alive(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) {
        return false;
    }
    const auto close = line.rfind(')');
    return close != std::string::npos && line.size() > close + 2 && line[close + 2] != 'Z';
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (condition()) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        ::usleep(5000);
    }
}

} // namespace sb::test
