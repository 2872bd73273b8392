#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

namespace sb::delivery {

struct Sanitized {
    std::string text;
    // How many bytes were taken out (controls, ESC, DEL, C1 controls, the
    // CR of each CRLF).
    std::size_t removed = 0;
};

struct Rejected {
    std::string message;
};

// Makes a message body safe to type into a terminal: it must be valid UTF-8
// and at most `max_bytes`; CRLF becomes LF; C0 controls other than newline
// and tab, ESC, DEL and C1 controls are removed, so a body can neither end a
// bracketed paste early nor send a key chord.
std::variant<Sanitized, Rejected> sanitize_body(std::string_view body, std::size_t max_bytes);

} // namespace sb::delivery
