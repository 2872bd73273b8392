#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"

namespace sb::cli {

// WORKER... or --all, as start, stop and restart take them.
struct WorkerSelection {
    std::vector<std::string> workers;
    bool all = false;

    void define(CLI::App& command, const std::string& verb);
    // False (after saying so) when neither workers nor --all were given.
    bool valid(const std::string& verb) const;
    // The request parameters naming the selection.
    nlohmann::json params() const;
};

// One line per worker: "alice: running (pid 1234)".
void print_worker_states(const nlohmann::json& workers);

} // namespace sb::cli
