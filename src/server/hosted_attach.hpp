#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <uv.h>

#include "server/control.hpp"
#include "util/uv.hpp"

namespace sb::server {

// Attach sessions the server runs itself, on terminals clients hand it
// (switchboard-protocol(7), attach_terminal), the way tmux's server draws on
// its clients' terminals: a key then wakes only the server and the worker,
// not a client in between. The client names its terminal; the server opens
// its own file description of it (non-blocking there, never in the shell's),
// runs an attach session on it as a local client of its own, and when the
// session ends gives the terminal back and tells the client (a `detached`
// frame). A client that goes ends its session.
class HostedAttaches {
public:
    // Handles the session's requests as the server's own (Requests::handle).
    using RequestHandler =
        std::function<void(const std::shared_ptr<Connection>&, const nlohmann::json& request)>;

    // Writes a person's keys to a worker as attach_input does, without the
    // request; why not when they were not written.
    using InputHandler = std::function<std::optional<std::string>(
        const std::shared_ptr<Connection>&, const std::string& worker, std::string_view bytes,
        bool keystroke)>;

    HostedAttaches(uv_loop_t* loop, ControlServer& control, RequestHandler handler,
                   InputHandler input);
    ~HostedAttaches();
    HostedAttaches(const HostedAttaches&) = delete;
    HostedAttaches& operator=(const HostedAttaches&) = delete;

    // Takes the terminal an attach_terminal request names and starts a
    // session on it, answering the request; an error message (the client
    // then attaches by itself) when the terminal cannot be used from here.
    std::optional<std::string> open(const std::shared_ptr<Connection>& client,
                                    const nlohmann::json& id, const nlohmann::json& params);
    // The client's terminal was resized; false when it has no session.
    bool resized(std::uint64_t client);
    // The client asks its session to end; false when it has none.
    bool end(std::uint64_t client, int status, const std::string& farewell);
    // Ends every session (the server is stopping).
    void end_all(const std::string& farewell);
    bool hosting(std::uint64_t client) const { return sessions_.contains(client); }

private:
    struct Hosted;
    void finished(std::uint64_t client, int status, const std::string& farewell);

    uv_loop_t* loop_;
    ControlServer& control_;
    RequestHandler handler_;
    InputHandler input_;
    std::map<std::uint64_t, std::unique_ptr<Hosted>> sessions_;
    // Ended sessions, freed on the next loop turn (not inside their own
    // callbacks).
    std::vector<std::unique_ptr<Hosted>> ended_;
    util::Timer reap_timer_;
    // Tells the connections' close callbacks whether this is still here.
    std::shared_ptr<bool> alive_;
};

} // namespace sb::server
