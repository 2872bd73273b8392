#include "client/attach/link.hpp"

namespace sb::client::attach {

SocketLink::SocketLink(uv_loop_t* loop, ControlClient& client) : loop_(loop), client_(client) {}

std::optional<std::string> SocketLink::send(std::uint64_t id, const std::string& method,
                                            nlohmann::json params) {
    if (auto error = client_.send(id, method, std::move(params))) {
        return error->message;
    }
    return std::nullopt;
}

void SocketLink::listen(MessageHandler on_message, FrameHandler, ClosedHandler on_closed) {
    on_message_ = std::move(on_message);
    on_closed_ = std::move(on_closed);
    poll_ = std::make_unique<util::Poll>(loop_, client_.fd());
    poll_->start(UV_READABLE | UV_DISCONNECT, [this](int, int) { on_readable(); });
    // Messages may have come with answers already read.
    on_readable();
}

void SocketLink::on_readable() {
    auto available = client_.read_available();
    for (const auto& message : available.messages) {
        if (!poll_) {
            return;
        }
        on_message_(message);
    }
    if (available.closed && poll_) {
        poll_.reset();
        on_closed_(available.error ? available.error->message : "");
    }
}

} // namespace sb::client::attach
