#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "process.hpp"

namespace sb::test {

// A workspace in a temporary directory with private runtime and state
// directories, and its server started with `switchboard up --foreground`.
// The destructor ends the server (and with it every worker).
class WorkspaceServer {
public:
    explicit WorkspaceServer(const std::string& yaml, const std::string& name = "ws");
    ~WorkspaceServer();

    // Starts the server and waits until its socket accepts; false on timeout.
    bool start(std::chrono::milliseconds timeout = std::chrono::seconds(15));
    // Kills the server with SIGKILL, as a crash would, and waits for it to
    // end; start() then starts a new one on the same state.
    void crash();
    // Runs `switchboard ARGS...` against this workspace (via -f).
    RunResult cli(const std::vector<std::string>& args, const std::string& input = "") const;
    // The same without -f, from a directory outside the workspace.
    RunResult cli_bare(const std::vector<std::string>& args) const;

    const std::filesystem::path& directory() const { return directory_; }
    std::filesystem::path file() const { return directory_ / "switchboard.yaml"; }
    std::filesystem::path socket() const;
    std::filesystem::path runtime() const { return temp_.path() / "runtime"; }
    std::filesystem::path state() const { return temp_.path() / "state"; }
    const RunOptions& options() const { return options_; }
    BackgroundProcess& server() { return *server_; }
    void write_file(const std::string& yaml) const;

private:
    TempDir temp_;
    std::string name_;
    std::filesystem::path directory_;
    RunOptions options_;
    std::unique_ptr<BackgroundProcess> server_;
};

} // namespace sb::test
