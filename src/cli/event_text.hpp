#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace sb::cli {

// One event as `switchboard events` prints it:
// "2026-11-22T03:14:15.926Z     12 worker_started       alice        pid=1234".
std::string event_text(const nlohmann::json& event);

} // namespace sb::cli
