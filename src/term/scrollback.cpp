#include "term/scrollback.hpp"

#include <algorithm>

namespace sb::term {

namespace {

// Drops a container's storage when it is far larger than the next line needs,
// so lines reused from the ring do not keep the largest size they ever had.
template <typename Container>
void fit(Container& container, std::size_t needed) {
    if (container.capacity() > 2 * needed + 64) {
        Container().swap(container);
    }
}

} // namespace

void ScrollbackLine::assign(const Row& row) {
    int length = row.used();
    while (length > 0 && row.cell(length - 1).plain_blank()) {
        --length;
    }
    const auto count = static_cast<std::size_t>(length);

    bool narrow = true;
    Style style;
    runs_.clear();
    for (int col = 0; col < length; ++col) {
        const Cell& cell = row.cell(col);
        narrow = narrow && cell.bits < 0x80;
        if (cell.style != style) {
            style = cell.style;
            runs_.push_back({static_cast<std::uint16_t>(col), style});
        }
    }
    fit(runs_, runs_.size());

    if (narrow) {
        fit(wide_, 0);
        wide_.clear();
        fit(narrow_, count);
        narrow_.resize(count);
        for (std::size_t col = 0; col < count; ++col) {
            narrow_[col] = static_cast<char>(row.cell(static_cast<int>(col)).bits);
        }
    } else {
        fit(narrow_, 0);
        narrow_.clear();
        fit(wide_, count);
        wide_.resize(count);
        for (std::size_t col = 0; col < count; ++col) {
            wide_[col] = row.cell(static_cast<int>(col)).bits;
        }
    }

    marks_.clear();
    for (int col = 0; col < length; ++col) {
        if (row.cell(col).has_marks()) {
            const auto marks = row.marks(col);
            marks_.push_back({col, std::u32string(marks.begin(), marks.end())});
        }
    }
    fit(marks_, marks_.size());
}

int ScrollbackLine::length() const {
    return static_cast<int>(wide_.empty() ? narrow_.size() : wide_.size());
}

std::uint32_t ScrollbackLine::bits(int col) const {
    const auto at = static_cast<std::size_t>(col);
    return wide_.empty() ? static_cast<unsigned char>(narrow_[at]) : wide_[at];
}

Row ScrollbackLine::expand() const {
    const int width = length();
    Row row(std::max(width, 1));
    std::size_t run = 0;
    Style style;
    for (int col = 0; col < width; ++col) {
        while (run < runs_.size() && runs_[run].col <= col) {
            style = runs_[run++].style;
        }
        const std::uint32_t b = bits(col);
        if ((b & Cell::kContinuation) != 0) {
            continue; // written with its head
        }
        std::u32string_view marks;
        if ((b & Cell::kHasMarks) != 0) {
            for (const auto& entry : marks_) {
                if (entry.col == col) {
                    marks = entry.marks;
                }
            }
        }
        const int glyph_width = (b & Cell::kWide) != 0 ? 2 : 1;
        if (b == 0 && style.is_default()) {
            continue; // already a plain blank
        }
        row.put(col, b & Cell::kCodeMask, marks, glyph_width, style);
    }
    return row;
}

std::size_t ScrollbackLine::heap_bytes() const {
    // A string's short-string buffer lives in the object; count only what it allocated.
    const std::size_t narrow =
        narrow_.capacity() > std::string().capacity() ? narrow_.capacity() : 0;
    std::size_t bytes = narrow + wide_.capacity() * sizeof(std::uint32_t) +
                        runs_.capacity() * sizeof(StyleRun) + marks_.capacity() * sizeof(CellMarks);
    for (const auto& entry : marks_) {
        bytes += entry.marks.capacity() * sizeof(char32_t);
    }
    return bytes;
}

Scrollback::Scrollback(int capacity) : capacity_(static_cast<std::size_t>(std::max(capacity, 0))) {}

const ScrollbackLine& Scrollback::line(std::size_t index) const {
    const std::size_t at = oldest_ + index;
    return lines_[at < lines_.size() ? at : at - lines_.size()];
}

void Scrollback::push(const Row& row) {
    if (capacity_ == 0) {
        return;
    }
    if (lines_.size() < capacity_) {
        if (lines_.size() == lines_.capacity()) {
            // Grow by doubling but never past the capacity, which is reached exactly.
            lines_.reserve(std::min(capacity_, std::max<std::size_t>(64, lines_.size() * 2)));
        }
        lines_.emplace_back().assign(row);
        return;
    }
    lines_[oldest_].assign(row);
    oldest_ = oldest_ + 1 == capacity_ ? 0 : oldest_ + 1;
}

void Scrollback::clear() {
    std::vector<ScrollbackLine>().swap(lines_);
    oldest_ = 0;
}

std::size_t Scrollback::memory_bytes() const {
    std::size_t bytes = lines_.capacity() * sizeof(ScrollbackLine);
    for (const auto& l : lines_) {
        bytes += l.heap_bytes();
    }
    return bytes;
}

} // namespace sb::term
