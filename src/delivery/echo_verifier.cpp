#include "delivery/echo_verifier.hpp"

#include <cstdint>

#include "term/screen.hpp"
#include "util/strings.hpp"

namespace sb::delivery {

namespace {

// How much of the body's first line must be seen: enough to be specific,
// short enough to fit in a narrow composer before it wraps or scrolls.
constexpr std::size_t body_prefix_chars = 40;

// Scrollback lines searched above the screen: a long paste may have pushed
// its own echo up.
constexpr int scrollback_window = 200;

} // namespace

std::string EchoVerifier::normalise(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto lead = static_cast<unsigned char>(text[i]);
        const std::size_t length = std::min(util::utf8_sequence_length(lead), text.size() - i);
        if (length == 1 && (lead == ' ' || lead == '\t' || lead == '\n' || lead == '\r')) {
            ++i;
            continue;
        }
        // Box drawing U+2500..U+257F is E2 94 80 .. E2 95 BF.
        if (length == 3 && lead == 0xE2) {
            const auto second = static_cast<unsigned char>(text[i + 1]);
            if (second == 0x94 || second == 0x95) {
                i += 3;
                continue;
            }
        }
        out.append(text, i, length);
        i += length;
    }
    return out;
}

EchoVerifier::EchoVerifier(std::string header, const std::string& body,
                           const std::string& placeholder_pattern)
    : EchoVerifier(std::move(header), body,
                   placeholder_pattern.empty() ? std::nullopt
                                               : std::optional(util::Regex(placeholder_pattern))) {}

EchoVerifier::EchoVerifier(std::string header, const std::string& body,
                           std::optional<util::Regex> placeholder)
    : header_(normalise(header)), placeholder_(std::move(placeholder)) {
    std::string first_line = body.substr(0, body.find('\n'));
    // Cut at a character boundary.
    std::size_t chars = 0;
    std::size_t end = 0;
    while (end < first_line.size() && chars < body_prefix_chars) {
        end += util::utf8_sequence_length(static_cast<unsigned char>(first_line[end]));
        ++chars;
    }
    body_prefix_ = normalise(first_line.substr(0, std::min(end, first_line.size())));
}

std::string EchoVerifier::screen_text(const term::Screen& screen) const {
    return screen.text(scrollback_window);
}

int EchoVerifier::count(const std::string& haystack_raw) const {
    const std::string haystack = normalise(haystack_raw);
    const auto occurrences = [&](const std::string& needle) {
        if (needle.empty()) {
            return 0;
        }
        int n = 0;
        for (auto at = haystack.find(needle); at != std::string::npos;
             at = haystack.find(needle, at + needle.size())) {
            ++n;
        }
        return n;
    };
    if (!header_.empty()) {
        // The header is unique to this delivery; the echo is the header
        // directly followed by the body or the placeholder. A header with the
        // body elsewhere on the screen is not the message as it was sent
        // (Claude Code once put a paste before the typed header).
        int n = occurrences(header_ + body_prefix_);
        // A placeholder counts only right after the header: without the
        // header on the screen there is none to look for (the search is the
        // costly part of a check, made on every output).
        if (placeholder_ && haystack.find(header_) != std::string::npos) {
            for (const auto placeholder : placeholder_->find_all(haystack_raw)) {
                const std::string before = normalise(haystack_raw.substr(0, placeholder.position));
                if (before.ends_with(header_)) {
                    ++n;
                }
            }
        }
        return n;
    }
    if (body_prefix_.empty()) {
        return 0;
    }
    return occurrences(body_prefix_);
}

void EchoVerifier::take_baseline(const term::Screen& screen) {
    const std::string text = screen_text(screen);
    baseline_ = count(text);
    header_baseline_ = header_count(text);
}

int EchoVerifier::header_count(const std::string& haystack_raw) const {
    if (header_.empty()) {
        return 0;
    }
    const std::string haystack = normalise(haystack_raw);
    int n = 0;
    for (auto at = haystack.find(header_); at != std::string::npos;
         at = haystack.find(header_, at + header_.size())) {
        ++n;
    }
    return n;
}

bool EchoVerifier::header_seen(const term::Screen& screen) const {
    return header_.empty() || header_count(screen_text(screen)) > header_baseline_;
}

bool EchoVerifier::seen(const term::Screen& screen) const {
    return count(screen_text(screen)) > baseline_;
}

} // namespace sb::delivery
