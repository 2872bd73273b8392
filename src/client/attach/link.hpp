#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <uv.h>

#include "client/control_client.hpp"
#include "protocol/screen_frame.hpp"
#include "util/uv.hpp"

namespace sb::client::attach {

// How an attach session talks to the server: requests out, responses and
// stream frames in. The attach client does it over the control socket
// (SocketLink); the server, running a session on a terminal a client handed
// it (attach_terminal), does it in process.
class SessionLink {
public:
    using MessageHandler = std::function<void(const nlohmann::json& message)>;
    // A screen frame given as it is (in process), not as a message; the
    // handler may take its rows.
    using FrameHandler = std::function<void(protocol::ScreenFrame& frame)>;
    // Why the server is gone ("" when it just closed).
    using ClosedHandler = std::function<void(const std::string& why)>;

    virtual ~SessionLink() = default;
    // The id the next request gets.
    virtual std::uint64_t next_id() = 0;
    // Sends a request with that id; why it could not be sent.
    virtual std::optional<std::string> send(std::uint64_t id, const std::string& method,
                                            nlohmann::json params) = 0;
    // The server's messages go to `on_message` (or `on_frame`) from now
    // on, until stop().
    virtual void listen(MessageHandler on_message, FrameHandler on_frame,
                        ClosedHandler on_closed) = 0;
    virtual void stop() = 0;
    // Writes what the person typed to a worker without a request where the
    // link can (in process); false when it cannot, and the session sends
    // attach_input. `error` says why the bytes were not written.
    virtual bool write_input(const std::string& worker, std::string_view bytes, bool keystroke,
                             std::string& error) {
        (void)worker;
        (void)bytes;
        (void)keystroke;
        (void)error;
        return false;
    }
};

// Over the control socket of a connected client.
class SocketLink : public SessionLink {
public:
    SocketLink(uv_loop_t* loop, ControlClient& client);

    std::uint64_t next_id() override { return client_.allocate_id(); }
    std::optional<std::string> send(std::uint64_t id, const std::string& method,
                                    nlohmann::json params) override;
    void listen(MessageHandler on_message, FrameHandler on_frame, ClosedHandler on_closed) override;
    void stop() override { poll_.reset(); }

private:
    void on_readable();

    uv_loop_t* loop_;
    ControlClient& client_;
    std::unique_ptr<util::Poll> poll_;
    MessageHandler on_message_;
    ClosedHandler on_closed_;
};

} // namespace sb::client::attach
