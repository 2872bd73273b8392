#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
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
