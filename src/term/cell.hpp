#pragma once

#include <bit>
#include <cstdint>
#include <span>
#include <type_traits>

namespace sb::term {

// A 24-bit colour, as reported to applications that ask for the terminal's
// foreground or background (OSC 10/11).
struct Rgb {
    std::uint8_t red = 0;
    std::uint8_t green = 0;
    std::uint8_t blue = 0;

    bool operator==(const Rgb&) const = default;
};

// A colour as the application set it: the terminal's default, one of the 256
// palette entries, or 24-bit RGB. Packed into 32 bits so that a cell stays
// small; indexed colours stay indexed so that a rendering keeps the user's
// palette.
class Color {
public:
    enum class Kind : std::uint8_t { Default, Indexed, Rgb };

    constexpr Color() = default;

    static constexpr Color indexed(std::uint8_t index) { return Color(Kind::Indexed, index); }
    static constexpr Color rgb(std::uint8_t red, std::uint8_t green, std::uint8_t blue) {
        return Color(Kind::Rgb, (std::uint32_t{red} << 16) | (std::uint32_t{green} << 8) | blue);
    }

    constexpr Kind kind() const { return static_cast<Kind>(packed_ >> 24); }
    constexpr bool is_default() const { return packed_ == 0; }
    constexpr std::uint8_t index() const { return static_cast<std::uint8_t>(packed_); }
    constexpr Rgb rgb() const {
        return {static_cast<std::uint8_t>(packed_ >> 16), static_cast<std::uint8_t>(packed_ >> 8),
                static_cast<std::uint8_t>(packed_)};
    }

    constexpr bool operator==(const Color&) const = default;

private:
    constexpr Color(Kind kind, std::uint32_t value)
        : packed_((static_cast<std::uint32_t>(kind) << 24) | value) {}

    std::uint32_t packed_ = 0;
};

enum class Underline : std::uint8_t { None, Single, Double, Curly };

// The SGR attributes libvterm reports, and faint (SGR 2), which libvterm
// 0.1.4 lacks and the input filter follows. Overline is not kept.
struct Attributes {
    bool bold : 1 = false;
    bool faint : 1 = false;
    bool italic : 1 = false;
    bool blink : 1 = false;
    bool reverse : 1 = false;
    bool strike : 1 = false;
    Underline underline : 2 = Underline::None;

    // The fields fill the byte, so comparing it compares them all at once:
    // cells are compared by style for every line that enters the scrollback
    // and every frame sent, and field by field this cost more than the rest
    // of the comparison.
    constexpr bool operator==(const Attributes& other) const {
        if (std::is_constant_evaluated()) {
            return bold == other.bold && faint == other.faint && italic == other.italic &&
                   blink == other.blink && reverse == other.reverse && strike == other.strike &&
                   underline == other.underline;
        }
        return std::bit_cast<std::uint8_t>(*this) == std::bit_cast<std::uint8_t>(other);
    }
};

static_assert(sizeof(Attributes) == 1, "the attributes are compared as one byte");

// How a cell is drawn apart from its characters: the "pen" it was written with.
struct Style {
    Color foreground;
    Color background;
    Attributes attributes;

    constexpr bool is_default() const { return *this == Style{}; }
    constexpr bool operator==(const Style&) const = default;
};

// One column of a screen row: 16 bytes. The code point and three flags share
// 32 bits; combining marks are rare and live out of line in the row, which the
// `has_marks` flag points to.
struct Cell {
    static constexpr std::uint32_t kCodeMask = 0x1fffff;
    static constexpr std::uint32_t kWide = 1u << 31;         // left half of a double-width glyph
    static constexpr std::uint32_t kContinuation = 1u << 30; // right half of a double-width glyph
    static constexpr std::uint32_t kHasMarks = 1u << 29;     // combining marks kept by the row

    // Code point in the low 21 bits (0: nothing was ever written here, shown
    // as a space), flags above.
    std::uint32_t bits = 0;
    Style style;

    constexpr char32_t code_point() const { return bits & kCodeMask; }
    constexpr bool wide() const { return (bits & kWide) != 0; }
    constexpr bool continuation() const { return (bits & kContinuation) != 0; }
    constexpr bool has_marks() const { return (bits & kHasMarks) != 0; }
    // Blank: shows nothing but its background (never written, erased, or a space).
    constexpr bool blank() const {
        const char32_t code = code_point();
        return (code == 0 || code == U' ') && !has_marks() && !continuation();
    }
    // Blank and in the default style: indistinguishable from a cell never written.
    constexpr bool plain_blank() const { return blank() && style.is_default(); }

    constexpr bool operator==(const Cell&) const = default;
};

static_assert(sizeof(Cell) == 16, "cells are meant to stay compact");

// A read-only look at one cell for renderers: its characters (base code point
// then combining marks), how many columns it takes, and its style.
struct CellView {
    char32_t code_point = 0; // 0 for a blank never written
    std::span<const char32_t> marks;
    int width = 1; // 2 for a wide glyph, 0 for the right half of one
    Style style;
};

} // namespace sb::term
