#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace sb::protocol {

// The protocol of the control socket, documented in switchboard-protocol(7):
// newline-delimited JSON, one request per line, one response per request.
inline constexpr int version = 1;

// A request line longer than this closes the connection with an error; it
// bounds what one client can make the server buffer. It is well above the
// largest message body, so an oversized body gets its own clear error.
inline constexpr std::size_t max_line_bytes = 4 * 1024 * 1024;

// Error codes a response can carry (the "code" of "error").
namespace errors {
inline constexpr const char* bad_request = "bad_request";
inline constexpr const char* version_mismatch = "version_mismatch";
inline constexpr const char* hello_required = "hello_required";
inline constexpr const char* unknown_method = "unknown_method";
inline constexpr const char* unknown_worker = "unknown_worker";
inline constexpr const char* invalid_argument = "invalid_argument";
inline constexpr const char* invalid_workspace = "invalid_workspace";
inline constexpr const char* not_running = "not_running";
inline constexpr const char* shutting_down = "shutting_down";
inline constexpr const char* store_failed = "store_failed";
inline constexpr const char* unknown_delivery = "unknown_delivery";
inline constexpr const char* inbox_full = "inbox_full";
inline constexpr const char* terminal_unavailable = "terminal_unavailable";
inline constexpr const char* internal = "internal";
} // namespace errors

nlohmann::json request(std::uint64_t id, const std::string& method,
                       nlohmann::json params = nlohmann::json::object());
nlohmann::json result(const nlohmann::json& id, nlohmann::json value);
nlohmann::json error(const nlohmann::json& id, const std::string& code, const std::string& message);
// A frame of a subscription opened by request `id`.
nlohmann::json stream_frame(const nlohmann::json& id, const std::string& kind,
                            nlohmann::json payload);

// One message as it goes on the wire: compact JSON and a newline.
std::string encode(const nlohmann::json& message);

} // namespace sb::protocol
