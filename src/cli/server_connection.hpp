#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "client/control_client.hpp"

namespace sb::cli {

// The socket a client command talks to, in this order: -S SOCKET; the
// workspace named with -f FILE; SWITCHBOARD_SOCKET (set inside workers); the
// workspace file found in the current directory or its parents.
struct SocketChoice {
    std::string path;
    std::string workspace; // empty when only the socket was named
};
std::optional<SocketChoice> choose_socket(const GlobalOptions& globals, std::string& error);

// Connects to the workspace's server; on failure prints why and returns nothing.
std::optional<client::ControlClient> connect_to_server(const GlobalOptions& globals);

// Calls a method and returns its result; prints the server's error (or the
// connection's) and returns nothing on failure.
std::optional<nlohmann::json> call(client::ControlClient& client, const std::string& method,
                                   nlohmann::json params = nlohmann::json::object());

// Adds "timeout_ms" to `params` from a --timeout DURATION option (nothing
// when it is empty); false, after saying why, when it is not a duration.
bool add_timeout(const std::string& text, nlohmann::json& params);

} // namespace sb::cli
