#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "server/control.hpp"

namespace sb::server {

class Server;

// Answers the requests of the control protocol (switchboard-protocol(7)).
// Every request gets exactly one response with its id; `events` with
// `follow` then streams frames on the same connection.
class Requests {
public:
    explicit Requests(Server& server) : server_(server) {}

    void handle(const std::shared_ptr<Connection>& connection, const nlohmann::json& request);

    struct InputError {
        std::string code;
        std::string message;
    };
    // Writes a person's keys to a worker for an attached connection
    // (attach_input, and sessions on clients' terminals, which skip the
    // request); the error when they were not written.
    std::optional<InputError> write_input(std::uint64_t connection, const std::string& worker,
                                          std::string_view bytes, bool keystroke);

private:
    using Reply = std::shared_ptr<Connection>;
    void hello(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void ls(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void capture(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void keys(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void start(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void stop(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void restart(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void resize(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void events(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void down(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void reload(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void send(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void pending(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void hold(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void release(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void cancel(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void nudge(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void inbox(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void dispatch(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void wait_reply(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void history(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void attach(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void attach_view(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void attach_input(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void attach_scrollback(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void attach_terminal(const Reply& c, const nlohmann::json& id, const nlohmann::json& params);
    void attach_terminal_resize(const Reply& c, const nlohmann::json& id,
                                const nlohmann::json& params);
    void attach_terminal_end(const Reply& c, const nlohmann::json& id,
                             const nlohmann::json& params);

    Server& server_;
};

} // namespace sb::server
