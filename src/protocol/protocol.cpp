#include "protocol/protocol.hpp"

namespace sb::protocol {

nlohmann::json request(std::uint64_t id, const std::string& method, nlohmann::json params) {
    return {{"id", id}, {"method", method}, {"params", std::move(params)}};
}

nlohmann::json result(const nlohmann::json& id, nlohmann::json value) {
    return {{"id", id}, {"result", std::move(value)}};
}

nlohmann::json error(const nlohmann::json& id, const std::string& code,
                     const std::string& message) {
    return {{"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

nlohmann::json stream_frame(const nlohmann::json& id, const std::string& kind,
                            nlohmann::json payload) {
    return {{"stream", id}, {kind, std::move(payload)}};
}

std::string encode(const nlohmann::json& message) {
    // Invalid UTF-8 from a worker's screen must not make dump() throw.
    std::string line = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    return line;
}

} // namespace sb::protocol
