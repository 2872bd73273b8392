#include "term/row_ring.hpp"

#include <algorithm>
#include <utility>

namespace sb::term {

RowRing::RowRing(int rows, int cols)
    : rows_(static_cast<std::size_t>(std::max(rows, 1)), Row(cols)), cols_(cols) {}

void RowRing::scroll_up(int top, int bottom, int count, const Style& fill, const Leaving& leaving) {
    top = std::max(top, 0);
    bottom = std::min(bottom, rows());
    count = std::min(count, bottom - top);
    if (count <= 0) {
        return;
    }
    if (leaving) {
        for (int i = top; i < top + count; ++i) {
            leaving(row(i));
        }
    }
    if (top == 0 && bottom == rows()) {
        // The whole screen: the rows that left become the new bottom rows.
        for (int i = 0; i < count; ++i) {
            row(0).clear(fill);
            start_ = physical(1);
        }
        return;
    }
    for (int i = top; i < bottom - count; ++i) {
        std::swap(row(i), row(i + count));
    }
    for (int i = bottom - count; i < bottom; ++i) {
        row(i).clear(fill);
    }
}

void RowRing::scroll_down(int top, int bottom, int count, const Style& fill) {
    top = std::max(top, 0);
    bottom = std::min(bottom, rows());
    count = std::min(count, bottom - top);
    if (count <= 0) {
        return;
    }
    for (int i = bottom - 1; i >= top + count; --i) {
        std::swap(row(i), row(i - count));
    }
    for (int i = top; i < top + count; ++i) {
        row(i).clear(fill);
    }
}

void RowRing::remove_top(int count, const Leaving& leaving) {
    count = std::min(count, rows() - 1);
    if (count <= 0) {
        return;
    }
    straighten();
    if (leaving) {
        for (int i = 0; i < count; ++i) {
            leaving(rows_[static_cast<std::size_t>(i)]);
        }
    }
    rows_.erase(rows_.begin(), rows_.begin() + count);
}

void RowRing::remove_bottom(int count) {
    count = std::min(count, rows() - 1);
    if (count <= 0) {
        return;
    }
    straighten();
    rows_.erase(rows_.end() - count, rows_.end());
}

void RowRing::add_bottom(int count) {
    if (count <= 0) {
        return;
    }
    straighten();
    rows_.insert(rows_.end(), static_cast<std::size_t>(count), Row(cols_));
}

void RowRing::resize_cols(int cols) {
    cols_ = cols;
    for (auto& r : rows_) {
        r.resize(cols);
    }
}

void RowRing::straighten() {
    std::rotate(rows_.begin(), rows_.begin() + static_cast<std::ptrdiff_t>(start_), rows_.end());
    start_ = 0;
}

} // namespace sb::term
