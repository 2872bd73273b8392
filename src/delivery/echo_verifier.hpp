#pragma once

#include <optional>
#include <string>

#include "util/regex.hpp"

namespace sb::term {
class Screen;
}

namespace sb::delivery {

// Recognises a delivery's echo on the screen model (never the raw byte
// stream). The echo is the header's text (when the profile types one)
// directly followed by the start of the body's first line, or by the
// profile's paste placeholder. Matching ignores whitespace and box-drawing characters, so
// text wrapped across rows or drawn inside a box still matches. An echo
// counts only if it appears more often than before the injection: the same
// command typed twice into a shell is not verified by the first one's echo.
class EchoVerifier {
public:
    EchoVerifier(std::string header, const std::string& body,
                 const std::string& placeholder_pattern);
    // With the placeholder pattern compiled already (a dispatcher compiles
    // its profile's once, not for every delivery).
    EchoVerifier(std::string header, const std::string& body,
                 std::optional<util::Regex> placeholder);

    // Call before injecting: what is already on the screen does not count.
    void take_baseline(const term::Screen& screen);
    bool seen(const term::Screen& screen) const;
    // The header alone shows more often than before the injection (true
    // when there is no header).
    bool header_seen(const term::Screen& screen) const;

    // The normalised form the matching compares (exposed for tests).
    static std::string normalise(const std::string& text);

private:
    int count(const std::string& haystack) const;
    int header_count(const std::string& haystack) const;
    std::string screen_text(const term::Screen& screen) const;

    std::string header_;
    std::string body_prefix_;
    std::optional<util::Regex> placeholder_;
    int baseline_ = 0;
    int header_baseline_ = 0;
};

} // namespace sb::delivery
