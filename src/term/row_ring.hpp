#pragma once

#include <functional>
#include <vector>

#include "term/row.hpp"

namespace sb::term {

// The rows of one screen buffer (primary or alternate) as a ring: scrolling
// the whole screen by a line moves the ring's start instead of the rows, so
// its cost does not grow with the screen's size. Scrolling part of the screen
// swaps rows, never cells.
class RowRing {
public:
    // Called with each row about to leave the top of the screen, top first.
    using Leaving = std::function<void(const Row&)>;

    RowRing(int rows, int cols);

    int rows() const { return static_cast<int>(rows_.size()); }
    int cols() const { return cols_; }

    // Row `index` counted from the top of the screen.
    Row& row(int index) { return rows_[physical(index)]; }
    const Row& row(int index) const { return rows_[physical(index)]; }

    // Moves rows [top, bottom) up by `count`: the first `count` leave (passed
    // to `leaving` when given) and blank rows in the fill style enter at the
    // bottom.
    void scroll_up(int top, int bottom, int count, const Style& fill, const Leaving& leaving);
    // Moves rows [top, bottom) down by `count`: the last `count` are dropped
    // and blank rows enter at the top.
    void scroll_down(int top, int bottom, int count, const Style& fill);

    // Resizing: rows leave from the top (through `leaving`) or the bottom, or
    // blank rows are added at the bottom; columns are cut or added on the right.
    void remove_top(int count, const Leaving& leaving);
    void remove_bottom(int count);
    void add_bottom(int count);
    void resize_cols(int cols);

private:
    std::size_t physical(int index) const {
        const auto at = start_ + static_cast<std::size_t>(index);
        return at < rows_.size() ? at : at - rows_.size();
    }
    // Puts the rows in screen order with the ring starting at 0.
    void straighten();

    std::vector<Row> rows_;
    std::size_t start_ = 0;
    int cols_;
};

} // namespace sb::term
