#include "delivery/sanitize.hpp"

#include <cstdint>

#include "util/strings.hpp"

namespace sb::delivery {

std::variant<Sanitized, Rejected> sanitize_body(std::string_view body, std::size_t max_bytes) {
    if (body.size() > max_bytes) {
        return Rejected{"the message is " + std::to_string(body.size()) + " bytes; the limit is " +
                        std::to_string(max_bytes) + "; send a shorter one or a path to a file"};
    }
    if (auto bad = util::first_invalid_utf8(body)) {
        return Rejected{"the message is not valid UTF-8 (at byte " + std::to_string(*bad) +
                        "); nothing was queued"};
    }
    Sanitized out;
    out.text.reserve(body.size());
    for (std::size_t i = 0; i < body.size(); ++i) {
        const auto byte = static_cast<std::uint8_t>(body[i]);
        if (byte == '\r' && i + 1 < body.size() && body[i + 1] == '\n') {
            ++out.removed;
            continue;
        }
        if (byte == '\n' || byte == '\t') {
            out.text += static_cast<char>(byte);
            continue;
        }
        if (byte < 0x20 || byte == 0x7f) {
            ++out.removed;
            continue;
        }
        // C1 controls U+0080..U+009F are C2 80..C2 9F in UTF-8.
        if (byte == 0xC2 && i + 1 < body.size()) {
            const auto next = static_cast<std::uint8_t>(body[i + 1]);
            if (next >= 0x80 && next <= 0x9F) {
                out.removed += 2;
                ++i;
                continue;
            }
        }
        out.text += static_cast<char>(byte);
    }
    return out;
}

} // namespace sb::delivery
