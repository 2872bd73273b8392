#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "workspace_server.hpp"

namespace sb::test {

// The fake agent binary (SWITCHBOARD_FAKE_AGENT, set by meson test).
std::string fake_agent();

// A worker entry for a workspace file: the fake agent with `flags`, logging
// what is submitted to `log` (relative to the workspace directory), with the
// claude profile and any `extra` lines of settings.
std::string agent_worker(const std::string& name, const std::string& log, const std::string& flags,
                         const std::string& extra = "");

// One submission as the fake agent logged it.
struct Submission {
    long pid = 0;
    std::string text;
};
std::vector<Submission> submissions(const std::filesystem::path& log);

// The texts a fake agent logged.
std::vector<std::string> logged(const std::filesystem::path& log);
// The log once it has `count` entries (or after 10 s): "verified" means the
// echo was seen on screen, which can come before the agent has handled the
// Enter and logged the submission.
std::vector<std::string> logged(const std::filesystem::path& log, std::size_t count);

// How many messages a load test sends: `full`, or a fifth of it when
// SWITCHBOARD_TEST_LOAD is "light" (the sanitize setup). Under ASan each of
// the thousands of client processes such a test starts costs ten times as
// much, and what the sanitizers check is the code, which a fifth exercises
// as well; the normal suite sends the full load.
int load(int full);

// The deliveries `COMMAND --json` lists (history, pending, inbox); throws
// with the command's error when it fails.
nlohmann::json listed(const WorkspaceServer& ws, const std::string& command);

// The workspace's events kept in memory (`events --since 0 --json`).
std::vector<nlohmann::json> events(const WorkspaceServer& ws);
std::vector<nlohmann::json> events_of(const WorkspaceServer& ws, const std::string& type);

} // namespace sb::test
