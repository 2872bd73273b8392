#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sb::util {

using Milliseconds = std::chrono::milliseconds;

// Parses durations written as a number and a unit: "250ms", "5s", "1.5s", "2m",
// "1h", "7d". At most a year.
// A bare number is refused: "5" could mean seconds or milliseconds.
std::optional<Milliseconds> parse_duration(std::string_view text);

// The shortest exact spelling of a duration that parse_duration reads back:
// 2m, 10s, 1500ms.
std::string format_duration(Milliseconds duration);

// A rounded duration for people to read in a table: 42s, 3m07s, 2h05m, 1d04h.
std::string human_duration(long long ms);

} // namespace sb::util
