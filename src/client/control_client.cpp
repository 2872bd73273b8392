#include "client/control_client.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "protocol/protocol.hpp"

namespace sb::client {

ControlClient::ControlClient(util::ScopedFd fd) : fd_(std::move(fd)), reader_(64 * 1024 * 1024) {}

std::variant<ControlClient, ClientError> ControlClient::connect(const std::string& socket_path,
                                                                const std::string& workspace) {
    const std::string named = workspace.empty() ? "" : " for workspace \"" + workspace + "\"";
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof address.sun_path) {
        return ClientError{"socket path " + socket_path +
                           " is too long; set XDG_RUNTIME_DIR to a shorter directory"};
    }
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
    util::ScopedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return ClientError{std::string("socket: ") + std::strerror(errno)};
    }
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int error = errno;
        if (error == ENOENT || error == ECONNREFUSED) {
            return ClientError{"no server is running" + named + " (no socket at " + socket_path +
                               "); start it with `switchboard up`"};
        }
        if (error == EACCES) {
            return ClientError{"cannot connect to " + socket_path +
                               ": permission denied (the workspace belongs to another user; "
                               "run switchboard as that user)"};
        }
        return ClientError{"cannot connect to " + socket_path + ": " + std::strerror(error)};
    }
    ControlClient client(std::move(fd));
    auto response =
        client.call("hello", {{"protocol", protocol::version},
                              {"client", std::string("switchboard ") + SWITCHBOARD_VERSION}});
    if (auto* error = std::get_if<ClientError>(&response)) {
        return *error;
    }
    auto& hello = std::get<nlohmann::json>(response);
    if (hello.contains("error")) {
        return ClientError{hello["error"].value("message", "the server refused the connection")};
    }
    client.hello_ = hello["result"];
    return client;
}

std::variant<std::uint64_t, ClientError> ControlClient::send(const std::string& method,
                                                             nlohmann::json params) {
    const auto id = allocate_id();
    if (auto error = send(id, method, std::move(params))) {
        return *error;
    }
    return id;
}

std::optional<ClientError> ControlClient::send(std::uint64_t id, const std::string& method,
                                               nlohmann::json params) {
    const std::string line = protocol::encode(protocol::request(id, method, std::move(params)));
    std::size_t written = 0;
    while (written < line.size()) {
        const ssize_t n =
            ::send(fd_.get(), line.data() + written, line.size() - written, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return ClientError{std::string("the server connection broke: ") + std::strerror(errno)};
        }
        written += static_cast<std::size_t>(n);
    }
    return std::nullopt;
}

std::variant<std::optional<nlohmann::json>, ClientError>
ControlClient::next(std::optional<std::chrono::milliseconds> timeout) {
    const auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                                  : std::chrono::steady_clock::time_point::max();
    while (lines_.empty()) {
        int wait_ms = -1;
        if (timeout) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                return ClientError{"timed out waiting for the server", true};
            }
            wait_ms = static_cast<int>(left.count());
        }
        pollfd pfd{fd_.get(), POLLIN, 0};
        const int ready = ::poll(&pfd, 1, wait_ms);
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready == 0) {
            continue;
        }
        char buffer[65536];
        const ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == ECONNRESET) {
                return std::optional<nlohmann::json>{};
            }
            return ClientError{std::string("reading from the server failed: ") +
                               std::strerror(errno)};
        }
        if (n == 0) {
            return std::optional<nlohmann::json>{};
        }
        const auto status = reader_.feed(std::string_view(buffer, static_cast<std::size_t>(n)),
                                         [&](std::string_view line) { lines_.emplace_back(line); });
        if (status != protocol::LineReader::Status::Ok) {
            return ClientError{"the server sent a line too long to read"};
        }
    }
    const std::string line = std::move(lines_.front());
    lines_.erase(lines_.begin());
    auto message = nlohmann::json::parse(line, nullptr, false);
    if (message.is_discarded()) {
        return ClientError{"the server sent something that is not JSON"};
    }
    return std::optional<nlohmann::json>(std::move(message));
}

ControlClient::Available ControlClient::read_available() {
    Available out;
    bool readable = true;
    while (readable) {
        pollfd pfd{fd_.get(), POLLIN, 0};
        const int ready = ::poll(&pfd, 1, 0);
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            break;
        }
        char buffer[65536];
        const ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            break;
        }
        if (n <= 0) {
            out.closed = true;
            break;
        }
        const auto status = reader_.feed(std::string_view(buffer, static_cast<std::size_t>(n)),
                                         [&](std::string_view line) { lines_.emplace_back(line); });
        if (status != protocol::LineReader::Status::Ok) {
            out.error = ClientError{"the server sent a line too long to read"};
            out.closed = true;
            break;
        }
        // One read per call keeps a flood of frames from starving the
        // caller's other work; the loop calls again while data is there.
        readable = false;
    }
    for (auto& line : lines_) {
        auto message = nlohmann::json::parse(line, nullptr, false);
        if (!message.is_discarded()) {
            out.messages.push_back(std::move(message));
        }
    }
    lines_.clear();
    return out;
}

std::variant<nlohmann::json, ClientError> ControlClient::call(const std::string& method,
                                                              nlohmann::json params) {
    auto sent = send(method, std::move(params));
    if (auto* error = std::get_if<ClientError>(&sent)) {
        return *error;
    }
    const auto id = std::get<std::uint64_t>(sent);
    while (true) {
        auto message = next();
        if (auto* error = std::get_if<ClientError>(&message)) {
            return *error;
        }
        auto& got = std::get<std::optional<nlohmann::json>>(message);
        if (!got) {
            return ClientError{"the server closed the connection before answering"};
        }
        if (got->contains("id") && (*got)["id"] == id) {
            return std::move(*got);
        }
        if (got->contains("error") && (*got)["id"].is_null()) {
            return std::move(*got);
        }
    }
}

} // namespace sb::client
