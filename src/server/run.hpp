#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "worker/environment.hpp"
#include "workspace/workspace.hpp"

namespace sb::server {

// Runs a workspace's server on a new loop until `down`, SIGINT or SIGTERM
// has stopped every worker. `on_ready` runs once the control socket listens
// and every worker has been started, with an empty string, or with the
// reason the server could not start. Returns the process exit status.
// `store_file` is the delivery store (deliveries.db in the state directory).
int run(workspace::Workspace workspace, worker::WorkerContext context,
        const std::filesystem::path& store_file,
        const std::function<void(const std::string& error)>& on_ready);

} // namespace sb::server
