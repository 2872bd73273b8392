#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sb::util {

// Levenshtein distance between two ASCII strings; used for "did you mean" hints.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a plausible typo.
std::optional<std::string_view> closest_match(std::string_view word,
                                              std::span<const std::string_view> candidates);

// Byte offset of the first byte that is not part of a well-formed UTF-8
// sequence (overlongs, surrogates and code points past U+10FFFF count as
// malformed), or nothing when the whole text is valid.
std::optional<std::size_t> first_invalid_utf8(std::string_view text);

// Appends the UTF-8 encoding of the code point; anything past U+10FFFF or a
// surrogate becomes U+FFFD.
void append_utf8(std::string& out, char32_t code_point);

// The length of the UTF-8 sequence `lead` starts (1 for a byte that cannot
// start one, so a scan always moves on).
std::size_t utf8_sequence_length(unsigned char lead);

// Joins the strings with the separator between them.
template <typename Range>
std::string join(const Range& parts, std::string_view separator) {
    std::string out;
    bool first = true;
    for (const auto& part : parts) {
        if (!first) {
            out += separator;
        }
        out += part;
        first = false;
    }
    return out;
}

} // namespace sb::util
