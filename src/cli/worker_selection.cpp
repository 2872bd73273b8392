#include "cli/worker_selection.hpp"

#include <cstdio>

#include <fmt/format.h>

#include "cli/server_connection.hpp"

namespace sb::cli {

void WorkerSelection::define(CommandOptions& command, const std::string& verb) {
    auto names = command.add_option("WORKER", workers, "The workers to " + verb);
    auto every = command.add_flag("-a,--all", all, "All workers of the workspace");
    names.excludes(every);
}

bool WorkerSelection::valid(const std::string& verb) const {
    if (workers.empty() && !all) {
        std::fprintf(stderr, "switchboard: %s: name the workers to %s, or give --all\n",
                     verb.c_str(), verb.c_str());
        return false;
    }
    return true;
}

nlohmann::json WorkerSelection::params() const {
    if (all) {
        return {{"all", true}};
    }
    return {{"workers", workers}};
}

void print_worker_states(const nlohmann::json& workers) {
    for (const auto& w : workers) {
        std::string line =
            fmt::format("{}: {}", w["name"].get<std::string>(), w["state"].get<std::string>());
        if (!w["pid"].is_null()) {
            line += fmt::format(" (pid {})", w["pid"].get<int>());
        } else if (!w["reason"].get<std::string>().empty()) {
            line += fmt::format(" ({})", w["reason"].get<std::string>());
        }
        fmt::print("{}\n", line);
    }
}

int run_on_workers(const GlobalOptions& globals, const std::string& method,
                   const WorkerSelection& selection, nlohmann::json extra) {
    if (!selection.valid(method)) {
        return exit_usage;
    }
    auto params = selection.params();
    params.update(extra);
    auto client = connect_to_server(globals);
    if (!client) {
        return exit_failure;
    }
    auto result = call(*client, method, params);
    if (!result) {
        return exit_failure;
    }
    print_worker_states((*result)["workers"]);
    return exit_ok;
}

} // namespace sb::cli
