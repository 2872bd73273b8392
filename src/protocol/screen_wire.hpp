#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace sb::protocol {

// The cells of a screen row as attach sends them (switchboard-protocol(7),
// "Screen rows"). The protocol's own types, so that a client needs nothing of
// the server's screen model.
struct WireColor {
    enum class Kind : std::uint8_t { Default, Indexed, Rgb };
    Kind kind = Kind::Default;
    // The palette index in `red` for Indexed.
    std::uint8_t red = 0;
    std::uint8_t green = 0;
    std::uint8_t blue = 0;

    bool operator==(const WireColor&) const = default;
};

struct WireStyle {
    static constexpr std::uint8_t kBold = 1;
    static constexpr std::uint8_t kItalic = 2;
    static constexpr std::uint8_t kBlink = 4;
    static constexpr std::uint8_t kReverse = 8;
    static constexpr std::uint8_t kStrike = 16;
    static constexpr std::uint8_t kFaint = 32;

    WireColor foreground;
    WireColor background;
    std::uint8_t attributes = 0;
    // 0 none, 1 single, 2 double, 3 curly.
    std::uint8_t underline = 0;

    bool is_default() const { return *this == WireStyle{}; }
    // Byte for byte (the fields leave no padding): a few word compares for
    // the cell by cell comparisons of rows.
    bool operator==(const WireStyle& other) const {
        return std::memcmp(this, &other, sizeof(WireStyle)) == 0;
    }
};

static_assert(sizeof(WireStyle) == 10 && std::is_trivially_copyable_v<WireStyle>,
              "a WireStyle is compared byte for byte");

struct WireCell {
    // The glyph and its combining marks as UTF-8; empty for a blank.
    std::string text;
    // 1, 2 for the left half of a wide glyph, 0 for its right half.
    std::uint8_t width = 1;
    WireStyle style;

    // The cheap fields first: rows are compared cell by cell to find what
    // to draw.
    bool operator==(const WireCell& other) const {
        if (width != other.width || !(style == other.style) || text.size() != other.text.size()) {
            return false;
        }
        return text.size() == 1 ? text[0] == other.text[0] : text == other.text;
    }
};

// A row in the compact binary form: records of a tag byte then operands.
//   'S' attributes underline fg-kind fg-r fg-g fg-b bg-kind bg-r bg-g bg-b
//       (the style of the cells that follow; a row starts in the default)
//   'C' width length text...  (one cell)
//   'B' count-low count-high  (blank cells of width 1)
std::string encode_row(std::span<const WireCell> cells);
// Nothing when the bytes are not a well-formed row.
std::optional<std::vector<WireCell>> decode_row(std::string_view bytes);

// RFC 4648 base64 with padding; decoding rejects anything else.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

} // namespace sb::protocol
