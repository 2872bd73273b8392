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

    void define(CommandOptions& command, const std::string& verb);
    // False (after saying so) when neither workers nor --all were given.
    bool valid(const std::string& verb) const;
    // The request parameters naming the selection.
    nlohmann::json params() const;
};

// One line per worker: "alice: running (pid 1234)".
void print_worker_states(const nlohmann::json& workers);

// What start, stop and restart do: send `method` for the selection (with
// `extra` parameters) and print how each worker is afterwards.
int run_on_workers(const GlobalOptions& globals, const std::string& method,
                   const WorkerSelection& selection,
                   nlohmann::json extra = nlohmann::json::object());

} // namespace sb::cli
