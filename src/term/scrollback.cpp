#include "term/scrollback.hpp"

#include <algorithm>
#include <cstring>

namespace sb::term {

void ScrollbackLine::assign(const Row& row) {
    const std::span<const Cell> cells = row.cells();
    int length = std::min(row.used(), static_cast<int>(cells.size()));
    while (length > 0 && cells[static_cast<std::size_t>(length - 1)].plain_blank()) {
        --length;
    }
    // A row is at most kMaxCols (1000) wide, well within 16 bits.
    length_ = static_cast<std::uint16_t>(length);

    // One pass writes each column's byte, as if the line were plain ASCII
    // (most are), and takes the union of every cell's bits, which tells
    // whether it is: all ASCII without flags. It notes where the style
    // changes; the inner loop runs over cells in one style, with nothing
    // in it that makes the compiler keep its state in memory.
    if (static_cast<std::uint32_t>(length) > capacity_) {
        cells_.reset(new std::uint8_t[static_cast<std::size_t>(length)]);
        capacity_ = static_cast<std::uint32_t>(length);
    }
    std::uint8_t* const out = cells_.get();
    std::uint32_t all_bits = 0;
    Style style;
    // A reused line keeps its runs' storage.
    std::vector<StyleRun> fresh;
    std::vector<StyleRun>& runs = extras_ ? extras_->runs : fresh;
    runs.clear();
    int col = 0;
    if (row.default_style()) {
        // Most lines: no style to follow, and a loop the compiler can widen.
        for (; col < length; ++col) {
            const std::uint32_t bits = cells[static_cast<std::size_t>(col)].bits;
            all_bits |= bits;
            out[col] = static_cast<std::uint8_t>(bits);
        }
    }
    while (col < length) {
        const Style current = style;
        for (; col < length; ++col) {
            const Cell& cell = cells[static_cast<std::size_t>(col)];
            if (cell.style != current) {
                break;
            }
            all_bits |= cell.bits;
            out[col] = static_cast<std::uint8_t>(cell.bits);
        }
        if (col < length) {
            style = cells[static_cast<std::size_t>(col)].style;
            runs.push_back({static_cast<std::uint16_t>(col), style});
        }
    }
    const bool narrow = all_bits < 0x80;
    const bool marks = (all_bits & Cell::kHasMarks) != 0;

    wide_ = !narrow;
    const auto count = static_cast<std::size_t>(length);
    const std::size_t bytes = count * (narrow ? 1 : 4);
    // Storage is kept for a reused line unless it is far larger than needed,
    // so a line that once held a long row does not keep its size forever.
    if (bytes > capacity_ || capacity_ > 2 * bytes + 64) {
        std::unique_ptr<std::uint8_t[]> sized(bytes > 0 ? new std::uint8_t[bytes] : nullptr);
        if (narrow && bytes > 0) {
            std::memcpy(sized.get(), out, bytes);
        }
        cells_ = std::move(sized);
        capacity_ = static_cast<std::uint32_t>(bytes);
    }
    if (!narrow) {
        for (std::size_t col = 0; col < count; ++col) {
            std::memcpy(cells_.get() + col * 4, &cells[col].bits, 4);
        }
    }

    if (runs.empty() && !marks) {
        extras_.reset();
        return;
    }
    if (!extras_) {
        extras_ = std::make_unique<Extras>();
        extras_->runs = std::move(fresh);
    }
    if (extras_->runs.capacity() > 2 * extras_->runs.size() + 8) {
        extras_->runs.shrink_to_fit();
    }
    extras_->marks.clear();
    for (int col = 0; marks && col < length; ++col) {
        if (row.cell(col).has_marks()) {
            const auto cell_marks = row.marks(col);
            extras_->marks.push_back({col, std::u32string(cell_marks.begin(), cell_marks.end())});
        }
    }
    extras_->marks.shrink_to_fit();
}

std::uint32_t ScrollbackLine::bits(int col) const {
    const auto at = static_cast<std::size_t>(col);
    if (!wide_) {
        return cells_[at];
    }
    std::uint32_t b = 0;
    std::memcpy(&b, cells_.get() + at * 4, 4);
    return b;
}

Row ScrollbackLine::expand() const {
    const int width = length();
    Row row(std::max(width, 1));
    static const std::vector<StyleRun> no_runs;
    static const std::vector<CellMarks> no_marks;
    const auto& runs = extras_ ? extras_->runs : no_runs;
    const auto& marks_kept = extras_ ? extras_->marks : no_marks;
    std::size_t run = 0;
    Style style;
    for (int col = 0; col < width; ++col) {
        while (run < runs.size() && runs[run].col <= col) {
            style = runs[run++].style;
        }
        const std::uint32_t b = bits(col);
        if ((b & Cell::kContinuation) != 0) {
            continue; // written with its head
        }
        std::u32string_view marks;
        if ((b & Cell::kHasMarks) != 0) {
            for (const auto& entry : marks_kept) {
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
    std::size_t bytes = capacity_;
    if (extras_) {
        bytes += sizeof(Extras) + extras_->runs.capacity() * sizeof(StyleRun) +
                 extras_->marks.capacity() * sizeof(CellMarks);
        for (const auto& entry : extras_->marks) {
            bytes += entry.marks.capacity() * sizeof(char32_t);
        }
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
