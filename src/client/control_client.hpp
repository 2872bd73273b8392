#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/line_reader.hpp"
#include "util/fd.hpp"

namespace sb::client {

struct ClientError {
    std::string message;
    // The wait of next() with a timeout ran out (nothing is wrong with the
    // connection).
    bool timed_out = false;
};

// A blocking client of the control socket, for the command-line commands:
// connect, say hello, send requests and read their responses and frames.
class ControlClient {
public:
    // Connects and says hello. `workspace` names the workspace in messages
    // ("no server is running for workspace ...").
    static std::variant<ControlClient, ClientError> connect(const std::string& socket_path,
                                                            const std::string& workspace);

    // Sends a request and waits for its response (frames of earlier
    // subscriptions that arrive meanwhile are skipped). The response holds
    // either "result" or "error".
    std::variant<nlohmann::json, ClientError>
    call(const std::string& method, nlohmann::json params = nlohmann::json::object());

    // Sends a request without waiting; returns its id.
    std::variant<std::uint64_t, ClientError> send(const std::string& method,
                                                  nlohmann::json params = nlohmann::json::object());
    // The same with an id from allocate_id() (so that its answer can be
    // waited for before it is sent).
    std::optional<ClientError> send(std::uint64_t id, const std::string& method,
                                    nlohmann::json params);
    std::uint64_t allocate_id() { return next_id_++; }

    // The next message from the server; nothing at end of stream. With a
    // timeout, a ClientError says it passed.
    std::variant<std::optional<nlohmann::json>, ClientError>
    next(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

    // Without blocking: the messages that have arrived (those already read
    // first); `closed` once the server has hung up.
    struct Available {
        std::vector<nlohmann::json> messages;
        bool closed = false;
        std::optional<ClientError> error;
    };
    Available read_available();
    // The socket, for a caller's own event loop to watch.
    int fd() const { return fd_.get(); }

    const nlohmann::json& hello() const { return hello_; }

private:
    explicit ControlClient(util::ScopedFd fd);

    util::ScopedFd fd_;
    protocol::LineReader reader_;
    std::string pending_;
    std::vector<std::string> lines_;
    std::uint64_t next_id_ = 1;
    nlohmann::json hello_;
};

} // namespace sb::client
