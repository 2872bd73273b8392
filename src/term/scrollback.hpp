#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "term/row.hpp"

namespace sb::term {

// One line that scrolled off the top of the primary screen, kept compactly:
// trailing plain blanks are dropped, a line of plain ASCII takes one byte per
// column (the common case for program output), and styles are kept as runs
// rather than per cell. A line of `seq` output costs about a hundred bytes
// where VTermScreen's cells cost 40 bytes a column.
class ScrollbackLine {
public:
    void assign(const Row& row);
    // The line as a row of its own stored width (at least one column).
    Row expand() const;
    // Columns stored: the row's width up to its last cell that is not a plain blank.
    int length() const;
    // Heap bytes held beyond the object itself, for measuring.
    std::size_t heap_bytes() const;

private:
    struct StyleRun {
        std::uint16_t col;
        Style style;
    };

    std::uint32_t bits(int col) const;

    std::string narrow_;              // one byte per column while every cell's bits are < 0x80
    std::vector<std::uint32_t> wide_; // Cell::bits per column otherwise
    std::vector<StyleRun> runs_;      // where the style changes; empty when all default
    std::vector<CellMarks> marks_;    // combining marks, as in Row
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
