#include "server/control.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "protocol/protocol.hpp"
#include "util/log.hpp"

namespace sb::server {

namespace {

std::shared_ptr<spdlog::logger> logger() {
    static auto log = sb::log::get("control");
    return log;
}

struct WriteRequest {
    uv_write_t request;
    std::string data;
    std::weak_ptr<Connection> connection;
};

void free_pipe(uv_handle_t* handle) {
    delete reinterpret_cast<uv_pipe_t*>(handle);
}

} // namespace

Connection::Connection(ControlServer& server, std::uint64_t id)
    : server_(server), id_(id), reader_(protocol::max_line_bytes) {}

Connection::~Connection() {
    if (pipe_ != nullptr) {
        pipe_->data = nullptr;
        uv_close(reinterpret_cast<uv_handle_t*>(pipe_), free_pipe);
        pipe_ = nullptr;
    }
}

void Connection::start_reading() {
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(pipe_),
        [](uv_handle_t*, std::size_t, uv_buf_t* buffer) {
            static char storage[65536];
            // One loop thread: the buffer is consumed before the next read.
            buffer->base = storage;
            buffer->len = sizeof storage;
        },
        [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buffer) {
            auto* self = static_cast<Connection*>(stream->data);
            if (self != nullptr) {
                // Keep the connection alive while its requests are handled.
                auto keep = self->shared_from_this();
                self->on_read(nread, buffer);
            }
        });
}

void Connection::on_read(ssize_t nread, const uv_buf_t* buffer) {
    if (nread == UV_EOF) {
        close("client hung up");
        return;
    }
    if (nread < 0) {
        close(std::string("read failed: ") + uv_strerror(static_cast<int>(nread)));
        return;
    }
    if (closing_ || close_when_flushed_) {
        return;
    }
    auto self = shared_from_this();
    const auto status =
        reader_.feed(std::string_view(buffer->base, static_cast<std::size_t>(nread)),
                     [&](std::string_view line) {
                         if (!closing_ && !close_when_flushed_) {
                             server_.handle_line(self, line);
                         }
                     });
    if (status == protocol::LineReader::Status::LineTooLong) {
        logger()->warn("client {}: request line longer than {} bytes; closing the connection", id_,
                       protocol::max_line_bytes);
        send(protocol::error(nullptr, protocol::errors::bad_request,
                             "request line longer than " +
                                 std::to_string(protocol::max_line_bytes) +
                                 " bytes; closing the connection"));
        close_after_flush();
    }
}

std::size_t Connection::queued_bytes() const {
    return pipe_ == nullptr
               ? 0
               : uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(pipe_));
}

void Connection::send(const nlohmann::json& message) {
    if (closing_) {
        return;
    }
    if (sink_) {
        sink_(message);
        return;
    }
    if (pipe_ == nullptr) {
        return;
    }
    auto* write = new WriteRequest;
    write->data = protocol::encode(message);
    write->connection = weak_from_this();
    uv_buf_t buffer =
        uv_buf_init(write->data.data(), static_cast<unsigned int>(write->data.size()));
    const int result = uv_write(
        &write->request, reinterpret_cast<uv_stream_t*>(pipe_), &buffer, 1,
        [](uv_write_t* request, int status) {
            auto* done = reinterpret_cast<WriteRequest*>(request);
            auto connection = done->connection.lock();
            delete done;
            if (!connection) {
                return;
            }
            --connection->pending_writes_;
            if (status < 0 && status != UV_ECANCELED) {
                connection->close(std::string("write failed: ") + uv_strerror(status));
            } else if (connection->close_when_flushed_ && connection->pending_writes_ == 0) {
                connection->close("closed after its last response");
            }
        });
    if (result != 0) {
        delete write;
        close(std::string("write failed: ") + uv_strerror(result));
        return;
    }
    ++pending_writes_;
    if (queued_bytes() > max_queued_bytes) {
        close("not reading what the server sends (" + std::to_string(queued_bytes()) +
              " bytes queued, limit " + std::to_string(max_queued_bytes) + "); dropped");
    }
}

void Connection::send_screen(const nlohmann::json& stream_id, protocol::ScreenFrame& frame) {
    if (closing_) {
        return;
    }
    if (screen_sink_) {
        screen_sink_(frame);
        return;
    }
    send(protocol::stream_frame(stream_id, "screen", protocol::to_json(frame)));
}

void Connection::close_after_flush() {
    close_when_flushed_ = true;
    if (pending_writes_ == 0) {
        close("closed after its last response");
    }
}

void Connection::close(const std::string& reason) {
    if (closing_) {
        return;
    }
    closing_ = true;
    logger()->debug("client {}: {}", id_, reason);
    if (reason.find("dropped") != std::string::npos || reason.find("failed") != std::string::npos) {
        logger()->warn("client {}: {}", id_, reason);
    }
    if (pipe_ != nullptr) {
        uv_read_stop(reinterpret_cast<uv_stream_t*>(pipe_));
    }
    sink_ = nullptr;
    screen_sink_ = nullptr;
    auto cleanups = std::move(cleanups_);
    cleanups_.clear();
    for (auto& cleanup : cleanups) {
        cleanup();
    }
    server_.forget(id_);
}

void Connection::on_close(std::function<void()> cleanup) {
    if (closing_) {
        cleanup();
        return;
    }
    cleanups_.push_back(std::move(cleanup));
}

ControlServer::ControlServer(uv_loop_t* loop, std::filesystem::path socket_path,
                             RequestHandler handler)
    : loop_(loop), socket_path_(std::move(socket_path)), handler_(std::move(handler)) {}

ControlServer::~ControlServer() {
    on_drained_ = nullptr;
    close();
    auto connections = std::move(connections_);
    connections_.clear();
    for (auto& [id, connection] : connections) {
        connection->close("server closing");
    }
}

std::optional<std::string> ControlServer::listen() {
    // The workspace lock is held, so a socket file left here belongs to a
    // server that died: take its place.
    struct stat info {};
    if (::lstat(socket_path_.c_str(), &info) == 0) {
        if (!S_ISSOCK(info.st_mode)) {
            return socket_path_.string() + " exists and is not a socket; remove it";
        }
        ::unlink(socket_path_.c_str());
    }
    if (socket_path_.string().size() >= sizeof(sockaddr_un{}.sun_path)) {
        return "socket path " + socket_path_.string() + " is too long for a Unix socket (" +
               std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
               " bytes at most); set XDG_RUNTIME_DIR or -S to a shorter path";
    }
    listener_ = new uv_pipe_t;
    uv_pipe_init(loop_, listener_, 0);
    listener_->data = this;
    const mode_t previous = ::umask(0177);
    int result = uv_pipe_bind(listener_, socket_path_.c_str());
    ::umask(previous);
    if (result == 0) {
        ::chmod(socket_path_.c_str(), 0600);
        result = uv_listen(reinterpret_cast<uv_stream_t*>(listener_), 64,
                           [](uv_stream_t* server, int status) {
                               static_cast<ControlServer*>(server->data)->on_connection(status);
                           });
    }
    if (result != 0) {
        uv_close(reinterpret_cast<uv_handle_t*>(listener_), free_pipe);
        listener_ = nullptr;
        return "cannot listen on " + socket_path_.string() + ": " + uv_strerror(result) +
               "; `switchboard doctor` checks the runtime directory, or choose another socket "
               "with -S";
    }
    logger()->info("listening on {}", socket_path_.string());
    return std::nullopt;
}

void ControlServer::close() {
    closed_ = true;
    if (listener_ != nullptr) {
        uv_close(reinterpret_cast<uv_handle_t*>(listener_), free_pipe);
        listener_ = nullptr;
        ::unlink(socket_path_.c_str());
    }
    // Each client gets what is queued for it (the answer to `down`, say)
    // before its connection closes.
    auto connections = connections_;
    for (auto& [id, connection] : connections) {
        connection->close_after_flush();
    }
}

void ControlServer::on_connection(int status) {
    if (status < 0) {
        logger()->warn("accept failed: {}", uv_strerror(status));
        return;
    }
    auto* pipe = new uv_pipe_t;
    uv_pipe_init(loop_, pipe, 0);
    if (uv_accept(reinterpret_cast<uv_stream_t*>(listener_),
                  reinterpret_cast<uv_stream_t*>(pipe)) != 0) {
        uv_close(reinterpret_cast<uv_handle_t*>(pipe), free_pipe);
        return;
    }
    uv_os_fd_t fd = -1;
    uv_fileno(reinterpret_cast<uv_handle_t*>(pipe), &fd);
    ucred peer{};
    socklen_t length = sizeof peer;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) {
        logger()->warn("refusing a connection: cannot tell its user ({})", std::strerror(errno));
        uv_close(reinterpret_cast<uv_handle_t*>(pipe), free_pipe);
        return;
    }
    if (peer.uid != ::getuid()) {
        logger()->warn("refusing a connection from uid {} (pid {}): only uid {} may control this "
                       "workspace",
                       peer.uid, peer.pid, ::getuid());
        uv_close(reinterpret_cast<uv_handle_t*>(pipe), free_pipe);
        return;
    }
    const auto id = next_id_++;
    auto connection = std::make_shared<Connection>(*this, id);
    connection->pipe_ = pipe;
    pipe->data = connection.get();
    connections_.emplace(id, connection);
    logger()->debug("client {}: connected (pid {})", id, peer.pid);
    connection->start_reading();
}

std::shared_ptr<Connection> ControlServer::open_local(Connection::Sink sink,
                                                      Connection::ScreenSink screens) {
    auto connection = std::make_shared<Connection>(*this, next_id_++);
    connection->sink_ = std::move(sink);
    connection->screen_sink_ = std::move(screens);
    connection->set_greeted();
    return connection;
}

void ControlServer::forget(std::uint64_t id) {
    connections_.erase(id);
    if (closed_ && connections_.empty() && on_drained_) {
        auto callback = std::move(on_drained_);
        on_drained_ = nullptr;
        callback();
    }
}

void ControlServer::handle_line(const std::shared_ptr<Connection>& connection,
                                std::string_view line) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) {
        return;
    }
    nlohmann::json request = nlohmann::json::parse(line, nullptr, false);
    if (request.is_discarded() || !request.is_object()) {
        connection->send(
            protocol::error(nullptr, protocol::errors::bad_request,
                            "not a JSON object; each line must be one request like "
                            "{\"id\":1,\"method\":\"hello\",\"params\":{\"protocol\":1}}"));
        return;
    }
    const nlohmann::json id = request.contains("id") ? request["id"] : nlohmann::json(nullptr);
    if (!request.contains("method") || !request["method"].is_string()) {
        connection->send(
            protocol::error(id, protocol::errors::bad_request, "the request has no \"method\""));
        return;
    }
    if (request.contains("params") && !request["params"].is_object()) {
        connection->send(
            protocol::error(id, protocol::errors::bad_request, "\"params\" must be an object"));
        return;
    }
    if (!request.contains("params")) {
        request["params"] = nlohmann::json::object();
    }
    handler_(connection, request);
}

} // namespace sb::server
