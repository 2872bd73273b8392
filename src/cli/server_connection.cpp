#include "cli/server_connection.hpp"

#include <cstdlib>
#include <iostream>

#include "cli/workspace_file.hpp"
#include "util/duration.hpp"
#include "util/paths.hpp"
#include "workspace/load.hpp"

namespace sb::cli {

namespace {

std::optional<SocketChoice> socket_of_file(const std::filesystem::path& file, std::string& error) {
    const auto loaded = workspace::load_file(file);
    if (!loaded.workspace) {
        for (const auto& d : loaded.diagnostics.all()) {
            error += d.to_string() + "\n";
        }
        error += "cannot tell which workspace to talk to; fix " + file.string() +
                 " or name the socket with -S";
        return std::nullopt;
    }
    auto runtime = util::runtime_directory();
    if (auto* failure = std::get_if<util::PathError>(&runtime)) {
        error = failure->message;
        return std::nullopt;
    }
    const auto& name = loaded.workspace->name;
    return SocketChoice{(std::get<std::filesystem::path>(runtime) / (name + ".sock")).string(),
                        name};
}

} // namespace

std::optional<SocketChoice> choose_socket(const GlobalOptions& globals, std::string& error) {
    if (!globals.socket.empty()) {
        return SocketChoice{globals.socket, ""};
    }
    if (!globals.file.empty()) {
        return socket_of_file(globals.file, error);
    }
    if (const char* inherited = std::getenv("SWITCHBOARD_SOCKET");
        inherited != nullptr && *inherited != '\0') {
        const char* name = std::getenv("SWITCHBOARD_WORKSPACE");
        return SocketChoice{inherited, name != nullptr ? name : ""};
    }
    const auto file = choose_workspace_file(globals, error);
    if (!file) {
        error += " (or name a running workspace's socket with -S)";
        return std::nullopt;
    }
    return socket_of_file(file->path, error);
}

std::optional<client::ControlClient> connect_to_server(const GlobalOptions& globals) {
    std::string error;
    const auto choice = choose_socket(globals, error);
    if (!choice) {
        std::cerr << "switchboard: " << error << '\n';
        return std::nullopt;
    }
    auto connected = client::ControlClient::connect(choice->path, choice->workspace);
    if (auto* failure = std::get_if<client::ClientError>(&connected)) {
        std::cerr << "switchboard: " << failure->message << '\n';
        return std::nullopt;
    }
    return std::move(std::get<client::ControlClient>(connected));
}

std::optional<nlohmann::json> call(client::ControlClient& client, const std::string& method,
                                   nlohmann::json params) {
    auto response = client.call(method, std::move(params));
    if (auto* failure = std::get_if<client::ClientError>(&response)) {
        std::cerr << "switchboard: " << failure->message << '\n';
        return std::nullopt;
    }
    auto& message = std::get<nlohmann::json>(response);
    if (message.contains("error")) {
        std::cerr << "switchboard: " << message["error"].value("message", "the request failed")
                  << '\n';
        return std::nullopt;
    }
    return message["result"];
}

bool add_timeout(const std::string& text, nlohmann::json& params) {
    if (text.empty()) {
        return true;
    }
    const auto timeout = util::parse_duration(text);
    if (!timeout) {
        std::cerr << "switchboard: --timeout: expected a duration like 5s or 500ms, got \"" << text
                  << "\"\n";
        return false;
    }
    params["timeout_ms"] = timeout->count();
    return true;
}

} // namespace sb::cli
