#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "term/row.hpp"

namespace sb::term {

// One line that scrolled off the top of the primary screen, kept compactly:
// trailing plain blanks are dropped, a line of plain ASCII takes one byte per
// column (the common case for program output) in one allocation of its exact
// size, and styles and combining marks, which most lines have none of, live
// in a second allocation that exists only when needed. A line of 80 columns
// of plain text costs about 120 bytes where VTermScreen's cells cost 40 bytes
// a column.
class ScrollbackLine {
public:
    void assign(const Row& row);
    // The line as a row of its own stored width (at least one column).
    Row expand() const;
    // Columns stored: the row's width up to its last cell that is not a plain blank.
    int length() const { return length_; }
    // Heap bytes held beyond the object itself, for measuring.
    std::size_t heap_bytes() const;

private:
    struct StyleRun {
        std::uint16_t col;
        Style style;
    };
    // What few lines have: where the style changes, and combining marks.
    struct Extras {
        std::vector<StyleRun> runs;   // empty when every cell is in the default style
        std::vector<CellMarks> marks; // as in Row
    };

    std::uint32_t bits(int col) const;

    // `length_` bytes (Cell::bits of each column, all < 0x80) or, when
    // `wide_`, `length_` std::uint32_t Cell::bits.
    std::unique_ptr<std::uint8_t[]> cells_;
    std::unique_ptr<Extras> extras_;
    std::uint32_t capacity_ = 0; // bytes cells_ holds, so a reused line can keep them
    std::uint16_t length_ = 0;
    bool wide_ = false;
};

// The scrollback of a screen: a ring of at most `capacity` lines. When full,
// each new line replaces the oldest and reuses its storage, so a long-running
// worker's scrollback stays within its bound without churning the allocator.
class Scrollback {
public:
    explicit Scrollback(int capacity);

    std::size_t capacity() const { return capacity_; }
    std::size_t size() const { return lines_.size(); }
    // Line `index`, 0 being the oldest kept.
    const ScrollbackLine& line(std::size_t index) const;

    void push(const Row& row);
    void clear();
    std::size_t memory_bytes() const;

private:
    std::vector<ScrollbackLine> lines_;
    std::size_t oldest_ = 0;
    std::size_t capacity_;
};

} // namespace sb::term
