#include "util/duration.hpp"

#include <cctype>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>

namespace sb::util {

std::optional<Milliseconds> parse_duration(std::string_view text) {
    std::size_t digits_end = 0;
    bool seen_digit = false;
    bool seen_point = false;
    while (digits_end < text.size()) {
        const char c = text[digits_end];
        if (std::isdigit(static_cast<unsigned char>(c))) {
            seen_digit = true;
        } else if (c == '.' && !seen_point) {
            seen_point = true;
        } else {
            break;
        }
        ++digits_end;
    }
    if (!seen_digit || digits_end > 18) {
        return std::nullopt;
    }
    const std::string number(text.substr(0, digits_end));
    const std::string_view unit = text.substr(digits_end);
    double scale = 0;
    if (unit == "ms") {
        scale = 1;
    } else if (unit == "s") {
        scale = 1000;
    } else if (unit == "m") {
        scale = 60'000;
    } else if (unit == "h") {
        scale = 3'600'000;
    } else if (unit == "d") {
        scale = 86'400'000;
    } else {
        return std::nullopt;
    }
    const double value = std::stod(number) * scale;
    // A year is far beyond any timeout or retention a workspace needs;
    // refusing more keeps the arithmetic on time points clear of overflow.
    if (value > 366.0 * 86'400'000) {
        return std::nullopt;
    }
    return Milliseconds(static_cast<std::int64_t>(std::llround(value)));
}

std::string format_duration(Milliseconds duration) {
    const auto ms = duration.count();
    if (ms != 0 && ms % 86'400'000 == 0) {
        return std::to_string(ms / 86'400'000) + "d";
    }
    if (ms != 0 && ms % 3'600'000 == 0) {
        return std::to_string(ms / 3'600'000) + "h";
    }
    if (ms != 0 && ms % 60'000 == 0) {
        return std::to_string(ms / 60'000) + "m";
    }
    if (ms != 0 && ms % 1000 == 0) {
        return std::to_string(ms / 1000) + "s";
    }
    return std::to_string(ms) + "ms";
}

std::string human_duration(long long ms) {
    const long long s = ms / 1000;
    if (s < 60) {
        return fmt::format("{}s", s);
    }
    if (s < 3600) {
        return fmt::format("{}m{:02}s", s / 60, s % 60);
    }
    if (s < 86400) {
        return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
    }
    return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

} // namespace sb::util
