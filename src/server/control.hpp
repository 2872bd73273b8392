#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <uv.h>

#include "protocol/line_reader.hpp"
#include "protocol/screen_frame.hpp"

namespace sb::server {

class ControlServer;

// One client of the control socket. Requests arrive as lines; responses and
// stream frames go out through a bounded buffer: a client that stops reading
// is dropped rather than let the server's memory grow.
//
// A connection may instead be local: a client inside the server (an attach
// session the server runs on a client's terminal) whose messages go to a
// function as they are sent, never through a socket.
class Connection : public std::enable_shared_from_this<Connection> {
public:
    // Bytes queued for a client before it is considered gone.
    static constexpr std::size_t max_queued_bytes = 8 * 1024 * 1024;
    using Sink = std::function<void(const nlohmann::json& message)>;
    // May take the frame's rows.
    using ScreenSink = std::function<void(protocol::ScreenFrame& frame)>;

    Connection(ControlServer& server, std::uint64_t id);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    std::uint64_t id() const { return id_; }
    bool open() const { return !closing_; }
    bool greeted() const { return greeted_; }
    void set_greeted() { greeted_ = true; }

    // Queues one message; drops the client when its queue is over the bound.
    void send(const nlohmann::json& message);
    // A screen frame of the attach subscription `stream_id`: as JSON, or as
    // it is to a local connection (which may take its rows).
    void send_screen(const nlohmann::json& stream_id, protocol::ScreenFrame& frame);
    // Whether screen frames reach this connection as they are (a session the
    // server runs itself), so that they may carry only the changed cells of
    // a row (ScreenFrame::spans).
    bool takes_frames() const { return static_cast<bool>(screen_sink_); }
    // Closes the connection once what is queued has been written.
    void close_after_flush();
    // Closes now; `reason` is logged.
    void close(const std::string& reason);
    // Runs when the connection closes (to end its subscriptions).
    void on_close(std::function<void()> cleanup);
    // Bytes sent to the client that it has not read yet.
    std::size_t queued_bytes() const;

private:
    friend class ControlServer;
    void start_reading();
    void on_read(ssize_t nread, const uv_buf_t* buffer);

    ControlServer& server_;
    std::uint64_t id_;
    uv_pipe_t* pipe_ = nullptr;
    Sink sink_;
    ScreenSink screen_sink_;
    protocol::LineReader reader_;
    bool greeted_ = false;
    bool closing_ = false;
    bool close_when_flushed_ = false;
    std::size_t pending_writes_ = 0;
    std::vector<std::function<void()>> cleanups_;
};

// The Unix socket of a workspace: 0600 in a 0700 directory, and every
// connection's peer checked with SO_PEERCRED.
class ControlServer {
public:
    // Called for every well-formed request line (a JSON object).
    using RequestHandler =
        std::function<void(const std::shared_ptr<Connection>&, const nlohmann::json& request)>;

    ControlServer(uv_loop_t* loop, std::filesystem::path socket_path, RequestHandler handler);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Binds and listens; an error message when it cannot.
    std::optional<std::string> listen();
    // Stops accepting, closes every connection (after flushing what is
    // queued) and removes the socket file.
    void close();
    // Runs once every connection has gone after close().
    void on_drained(std::function<void()> callback) { on_drained_ = std::move(callback); }
    const std::filesystem::path& socket_path() const { return socket_path_; }
    std::size_t connection_count() const { return connections_.size(); }
    // A local connection, already greeted, whose messages go to `sink`. It
    // is not among the socket's connections: its owner closes it.
    std::shared_ptr<Connection> open_local(Connection::Sink sink, Connection::ScreenSink screens);

private:
    friend class Connection;
    void on_connection(int status);
    void forget(std::uint64_t id);
    void handle_line(const std::shared_ptr<Connection>& connection, std::string_view line);

    uv_loop_t* loop_;
    std::filesystem::path socket_path_;
    RequestHandler handler_;
    uv_pipe_t* listener_ = nullptr;
    std::uint64_t next_id_ = 1;
    std::map<std::uint64_t, std::shared_ptr<Connection>> connections_;
    std::function<void()> on_drained_;
    bool closed_ = false;
};

} // namespace sb::server
