#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace sb::test {

struct RunResult {
    int exit_status = -1; // -1 when it was killed by a signal
    int signal = 0;
    bool timed_out = false;
    std::string out;
    std::string err;
};

struct RunOptions {
    std::filesystem::path cwd;
    // Added to (or replacing in) the test's own environment; a value of
    // std::nullopt removes the variable.
    std::map<std::string, std::optional<std::string>> env;
    std::string input;
    std::chrono::milliseconds timeout{30000};
};

// Runs a program to completion with its stdout and stderr captured. A run
// that outlives its timeout is killed (with its process group) and marked.
RunResult run(const std::vector<std::string>& argv, const RunOptions& options = {});

// The switchboard binary under test (SWITCHBOARD_BIN, set by meson).
std::string switchboard_binary();

// A directory of the source tree's tests/ (SWITCHBOARD_TEST_DATA, set by meson).
std::filesystem::path test_data(const std::string& relative);

// A fresh temporary directory, removed with everything in it on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    // Writes a file under the directory (creating parents) and returns its path.
    std::filesystem::path write(const std::string& relative, const std::string& contents) const;

private:
    std::filesystem::path path_;
};

} // namespace sb::test

namespace sb::test {

// A program running beside the test, with its output collected; killed
// (with its process group) when the object goes, so no test leaves one behind.
class BackgroundProcess {
public:
    explicit BackgroundProcess(const std::vector<std::string>& argv,
                               const RunOptions& options = {});
    ~BackgroundProcess();
    BackgroundProcess(const BackgroundProcess&) = delete;
    BackgroundProcess& operator=(const BackgroundProcess&) = delete;

    pid_t pid() const { return pid_; }
    void signal(int signum) const;
    // A no-op kept for readability at call sites: output is collected all
    // the time by a reader thread, so a chatty process never blocks on a
    // full pipe.
    void collect() {}
    // Waits for the process to end (collecting its output); false on timeout.
    bool wait(std::chrono::milliseconds timeout);
    // Collects until `text` appears in stdout or stderr; false on timeout.
    bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout);
    std::string out() const;
    std::string err() const;
    // Exit status once wait() returned true; -1 if killed by a signal.
    int exit_status() const { return exit_status_; }

private:
    pid_t pid_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    bool done_ = false;
    int exit_status_ = -1;
    void read_loop();
    mutable std::mutex mutex_;
    std::string out_;
    std::string err_;
    std::thread reader_;
    std::atomic<bool> stop_reading_{false};
};

// Whether `pid` is a live process (a zombie counts as gone).
bool process_alive(pid_t pid);

// Polls `condition` every few milliseconds until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

} // namespace sb::test
