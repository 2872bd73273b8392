#include "server/hosted_attach.hpp"

#include <cerrno>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <functional>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include <variant>

#include "client/attach/link.hpp"
#include "client/attach/session.hpp"
#include "protocol/protocol.hpp"
#include "util/fd.hpp"
#include "util/log.hpp"
#include "util/prefix_key.hpp"

namespace sb::server {

namespace {

using nlohmann::json;

std::shared_ptr<spdlog::logger> logger() {
    static auto log = sb::log::get("attach");
    return log;
}

// A session's way to the server: its requests are handled as if they came
// over the socket, and what the server sends it arrives as it is sent. A
// message sent while one is being handled (a request made from a frame's
// handler, answered at once) waits until that one is done.
class LocalLink : public client::attach::SessionLink {
public:
    LocalLink(ControlServer& control, const HostedAttaches::RequestHandler& handler,
              const HostedAttaches::InputHandler& input)
        : handler_(handler), input_(input),
          connection_(control.open_local(
              [this](const json& message) { deliver(Message(message)); },
              [this](protocol::ScreenFrame& frame) { deliver(Message(std::ref(frame))); })) {}
    ~LocalLink() override { connection_->close("attach session ended"); }
    LocalLink(const LocalLink&) = delete;
    LocalLink& operator=(const LocalLink&) = delete;

    std::uint64_t next_id() override { return next_id_++; }

    std::optional<std::string> send(std::uint64_t id, const std::string& method,
                                    json params) override {
        if (!connection_->open()) {
            return "the server is stopping";
        }
        handler_(connection_, protocol::request(id, method, std::move(params)));
        return std::nullopt;
    }

    void listen(MessageHandler on_message, FrameHandler on_frame, ClosedHandler) override {
        on_message_ = std::move(on_message);
        on_frame_ = std::move(on_frame);
        listening_ = true;
    }

    bool write_input(const std::string& worker, std::string_view bytes, bool keystroke,
                     std::string& error) override {
        error = input_(connection_, worker, bytes, keystroke).value_or("");
        return true;
    }

    void stop() override {
        listening_ = false;
        waiting_.clear();
    }

private:
    // A message or a screen frame (whose rows the session may take),
    // borrowed while it is handed on at once, copied when it has to wait.
    using Message = std::variant<std::reference_wrapper<const json>,
                                 std::reference_wrapper<protocol::ScreenFrame>>;
    using Owned = std::variant<json, protocol::ScreenFrame>;

    void hand_on(const Message& message) {
        if (const auto* frame =
                std::get_if<std::reference_wrapper<protocol::ScreenFrame>>(&message)) {
            on_frame_(frame->get());
        } else {
            on_message_(std::get<std::reference_wrapper<const json>>(message).get());
        }
    }

    void deliver(const Message& message) {
        if (!listening_) {
            return;
        }
        if (delivering_) {
            std::visit([&](const auto& item) { waiting_.emplace_back(item.get()); }, message);
            return;
        }
        delivering_ = true;
        hand_on(message);
        while (listening_ && !waiting_.empty()) {
            Owned next = std::move(waiting_.front());
            waiting_.pop_front();
            if (auto* frame = std::get_if<protocol::ScreenFrame>(&next)) {
                hand_on(Message(std::ref(*frame)));
            } else {
                hand_on(Message(std::cref(std::get<json>(next))));
            }
        }
        delivering_ = false;
    }

    const HostedAttaches::RequestHandler& handler_;
    const HostedAttaches::InputHandler& input_;
    std::shared_ptr<Connection> connection_;
    MessageHandler on_message_;
    FrameHandler on_frame_;
    std::deque<Owned> waiting_;
    std::uint64_t next_id_ = 1;
    bool listening_ = false;
    bool delivering_ = false;
};

std::string errno_text() {
    return std::strerror(errno);
}

} // namespace

struct HostedAttaches::Hosted {
    std::weak_ptr<Connection> client;
    json stream_id;
    util::ScopedFd input;
    util::ScopedFd output;
    std::unique_ptr<LocalLink> link;
    std::unique_ptr<client::attach::Session> session;
};

HostedAttaches::HostedAttaches(uv_loop_t* loop, ControlServer& control, RequestHandler handler,
                               InputHandler input)
    : loop_(loop), control_(control), handler_(std::move(handler)), input_(std::move(input)),
      reap_timer_(loop), alive_(std::make_shared<bool>(true)) {}

HostedAttaches::~HostedAttaches() {
    end_all("[server exited]");
    ended_.clear();
}

std::optional<std::string> HostedAttaches::open(const std::shared_ptr<Connection>& client,
                                                const json& id, const json& params) {
    const auto key = client->id();
    if (sessions_.contains(key)) {
        return "this connection has handed over a terminal already";
    }
    const std::string path = params.value("tty", std::string());
    const auto device = params.value("device", std::uint64_t{0});
    struct stat named {};
    if (path.empty() || ::stat(path.c_str(), &named) != 0) {
        return "cannot find the terminal \"" + path + "\" from the server" +
               (path.empty() ? std::string() : ": " + errno_text());
    }
    if (!S_ISCHR(named.st_mode) || named.st_rdev != device) {
        return path + " is not the client's terminal where the server runs";
    }
    util::ScopedFd input(::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
    if (!input) {
        return "cannot open " + path + " from the server: " + errno_text();
    }
    struct stat opened {};
    if (::fstat(input.get(), &opened) != 0 || opened.st_rdev != device ||
        ::isatty(input.get()) == 0) {
        return path + " is not the client's terminal where the server runs";
    }
    // On its own controlling terminal the server would be a background job:
    // stopped by SIGTTOU on taking it over.
    if (::tcgetsid(input.get()) == ::getsid(0)) {
        return path + " is the server's own controlling terminal";
    }
    util::ScopedFd output(::fcntl(input.get(), F_DUPFD_CLOEXEC, 0));
    if (!output) {
        return "cannot use " + path + ": " + errno_text();
    }

    client::attach::SessionOptions options{.worker = params.value("worker", std::string())};
    if (params.contains("prefix") && params["prefix"].is_string()) {
        const auto name = params["prefix"].get<std::string>();
        if (auto bytes = util::prefix_key_bytes(name)) {
            options.prefix_name = name;
            options.prefix = *bytes;
            options.prefix_given = true;
        }
    }
    if (params.contains("term") && params["term"].is_string()) {
        options.term = params["term"].get<std::string>();
    }
    if (params.contains("colorterm") && params["colorterm"].is_string()) {
        options.colorterm = params["colorterm"].get<std::string>();
    }

    auto hosted = std::make_unique<Hosted>();
    hosted->client = client;
    hosted->stream_id = id;
    hosted->link = std::make_unique<LocalLink>(control_, handler_, input_);
    hosted->session = std::make_unique<client::attach::Session>(
        loop_, *hosted->link, std::move(options),
        client::attach::SessionTerminal{
            .in_fd = input.get(), .out_fd = output.get(), .hosted = true});
    hosted->input = std::move(input);
    hosted->output = std::move(output);
    auto& session = *hosted->session;
    sessions_.emplace(key, std::move(hosted));
    logger()->debug("client {}: attached on {}", key, path);

    client->send(protocol::result(id, {{"hosted", true}}));
    client->on_close([this, key, alive = std::weak_ptr<bool>(alive_)] {
        if (alive.lock()) {
            end(key, 1, "");
        }
    });
    session.start(
        [this, key](int status, const std::string& farewell) { finished(key, status, farewell); });
    return std::nullopt;
}

bool HostedAttaches::resized(std::uint64_t client) {
    const auto found = sessions_.find(client);
    if (found == sessions_.end()) {
        return false;
    }
    found->second->session->terminal_resized();
    return true;
}

bool HostedAttaches::end(std::uint64_t client, int status, const std::string& farewell) {
    const auto found = sessions_.find(client);
    if (found == sessions_.end()) {
        return false;
    }
    found->second->session->end(status, farewell);
    return true;
}

void HostedAttaches::end_all(const std::string& farewell) {
    std::vector<std::uint64_t> clients;
    for (const auto& [client, hosted] : sessions_) {
        clients.push_back(client);
    }
    for (const auto client : clients) {
        end(client, 0, farewell);
    }
}

void HostedAttaches::finished(std::uint64_t client, int status, const std::string& farewell) {
    const auto found = sessions_.find(client);
    if (found == sessions_.end()) {
        return;
    }
    auto hosted = std::move(found->second);
    sessions_.erase(found);
    logger()->debug("client {}: detached ({}); {} frames drawn as typed text", client, farewell,
                    hosted->session ? hosted->session->typed_frames() : 0);
    if (auto connection = hosted->client.lock()) {
        connection->send(protocol::stream_frame(hosted->stream_id, "detached",
                                                {{"status", status}, {"message", farewell}}));
    }
    ended_.push_back(std::move(hosted));
    reap_timer_.start(std::chrono::milliseconds(0), [this] { ended_.clear(); });
}

} // namespace sb::server
