#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "protocol/screen_wire.hpp"

namespace sb::client::attach {

using Cell = protocol::WireCell;
using Style = protocol::WireStyle;

struct CursorState {
    int row = 0;
    int col = 0;
    bool visible = true;
    // DECSCUSR: 1 blinking block .. 6 steady bar; 0 the terminal's default.
    int shape = 0;

    bool operator==(const CursorState&) const = default;
};

// The columns [first, end) of [lo, hi) in which the rows of cells `a` and
// `b` differ: from the first cell that differs to the last; first == end
// when none does.
inline std::pair<int, int> changed_span(const Cell* a, const Cell* b, int lo, int hi) {
    int first = static_cast<int>(std::mismatch(a + lo, a + hi, b + lo).first - a);
    if (first == hi) {
        return {hi, hi};
    }
    int end = hi;
    while (a[end - 1] == b[end - 1]) {
        --end;
    }
    return {first, end};
}

// What the whole terminal should show: the panes, borders, status line and
// any overlay, composed cell by cell. The renderer draws the difference
// between two canvases.
struct Canvas {
    int rows = 0;
    int cols = 0;
    std::vector<Cell> cells;
    CursorState cursor;
    std::string title;

    Canvas() = default;
    Canvas(int rows_, int cols_)
        : rows(rows_), cols(cols_), cells(static_cast<std::size_t>(rows_ * cols_)) {}

    Cell& at(int row, int col) { return cells[static_cast<std::size_t>(row * cols + col)]; }
    const Cell& at(int row, int col) const {
        return cells[static_cast<std::size_t>(row * cols + col)];
    }
    // Writes text (one cell per code point; wide glyphs are not expected in
    // the client's own text) from a column; returns the column after it.
    int put_text(int row, int col, std::string_view text, const Style& style, int end_col = -1);
    void fill(int row, int col, int count, const Style& style, std::string_view glyph = "");
};

} // namespace sb::client::attach
