#include "term/row.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

namespace sb::term {

namespace {

// Whether a cell can be written as two 64-bit words: Cell::bits and the
// foreground in the first, the background and the attributes in the low
// five bytes of the second (the rest is padding, written as zero).
constexpr bool kCellAsWords = std::endian::native == std::endian::little && sizeof(Cell) == 16 &&
                              offsetof(Cell, style) == 4 && offsetof(Style, foreground) == 0 &&
                              offsetof(Style, background) == 4 && offsetof(Style, attributes) == 8;

} // namespace

Row::Row(int cols) : cols_(std::max(cols, 0)) {}

void Row::materialize() {
    if (cells_.empty()) {
        cells_.resize(static_cast<std::size_t>(cols_));
    }
}

std::span<const char32_t> Row::marks(int col) const {
    if (!cell(col).has_marks()) {
        return {};
    }
    for (const auto& entry : marks_) {
        if (entry.col == col) {
            return entry.marks;
        }
    }
    return {};
}

CellView Row::view(int col) const {
    const Cell& c = cell(col);
    return CellView{
        .code_point = c.code_point(),
        .marks = marks(col),
        .width = c.continuation() ? 0 : (c.wide() ? 2 : 1),
        .style = c.style,
    };
}

bool Row::empty() const {
    return std::all_of(cells_.begin(), cells_.begin() + used_,
                       [](const Cell& c) { return c.plain_blank(); });
}

void Row::resize(int cols) {
    cols = std::max(cols, 0);
    if (cols == this->cols()) {
        return;
    }
    const int old_cols = cols_;
    cols_ = cols;
    if (cells_.empty()) {
        return; // nothing written, so nothing to cut or repair
    }
    const bool shrinking = cols < old_cols;
    if (shrinking) {
        drop_marks(cols, old_cols);
    }
    cells_.resize(static_cast<std::size_t>(cols));
    used_ = std::min(used_, cols);
    if (shrinking && cols > 0 && cells_.back().wide()) {
        blank(cols - 1); // its continuation was cut off
    }
}

void Row::clear(const Style& fill) {
    marks_.clear();
    const Style style = erase_style(fill);
    if (style.is_default()) {
        // Cell{} is all zero bytes: cleared as memory, in wide stores.
        static_assert(std::is_trivially_copyable_v<Cell>);
        if (used_ > 0) {
            std::memset(static_cast<void*>(cells_.data()), 0,
                        static_cast<std::size_t>(used_) * sizeof(Cell));
        }
        used_ = 0;
        styled_ = false;
    } else {
        materialize();
        std::fill(cells_.begin(), cells_.end(), Cell{.style = style});
        used_ = cols();
        styled_ = true;
    }
}

void Row::put(int col, char32_t base, std::span<const char32_t> marks, int width,
              const Style& style) {
    if (col < 0 || col >= cols()) {
        return;
    }
    if (width == 2 && col + 1 >= cols()) {
        width = 1; // libvterm never does this; keep the row whole if it ever did
    }
    materialize();
    if (!marks_.empty()) {
        drop_marks(col, col + width);
    }
    std::uint32_t bits = base & Cell::kCodeMask;
    if (!marks.empty()) {
        bits |= Cell::kHasMarks;
        const auto kept = std::min<std::size_t>(marks.size(), kMaxMarksPerCell);
        marks_.push_back({col, std::u32string(marks.begin(), marks.begin() + kept)});
    }
    // Only a glyph written over part of a wide one can leave half of it behind.
    bool over_wide = false;
    for (int i = col; i < col + width; ++i) {
        over_wide = over_wide || (cell(i).bits & (Cell::kWide | Cell::kContinuation)) != 0;
    }
    auto& head = cells_[static_cast<std::size_t>(col)];
    if (width == 2) {
        head = Cell{.bits = bits | Cell::kWide, .style = style};
        cells_[static_cast<std::size_t>(col) + 1] =
            Cell{.bits = Cell::kContinuation, .style = style};
    } else {
        head = Cell{.bits = bits, .style = style};
    }
    used_ = std::max(used_, col + width);
    styled_ = styled_ || !style.is_default();
    if (over_wide) {
        repair_wide_around(col, col + width);
    }
}

void Row::put_text(int col, std::string_view ascii, const Style& style) {
    const int end = col + static_cast<int>(ascii.size());
    if (col < 0 || end > cols() || ascii.empty()) {
        return;
    }
    materialize();
    if (!marks_.empty()) {
        drop_marks(col, end);
    }
    // Written one at a time, a narrow glyph over half of a wide one blanks
    // the other half; inside the range the next glyph overwrites that half
    // anyway, so only the two ends need repairing afterwards. The flags of
    // the cells written over tell whether any was half of one.
    const auto first = cells_.begin() + col;
    std::uint32_t flags = 0;
    if constexpr (kCellAsWords) {
        // Each cell is two stores from registers: the style's words are
        // made once, and the character joins the first. (A cell built whole
        // on the stack and copied is read back as one wide load right after
        // a narrow store to it, which stalls every cell.)
        const std::uint64_t low = std::uint64_t{std::bit_cast<std::uint32_t>(style.foreground)}
                                  << 32;
        const std::uint64_t high =
            std::bit_cast<std::uint32_t>(style.background) |
            (std::uint64_t{std::bit_cast<std::uint8_t>(style.attributes)} << 32);
        auto* out = reinterpret_cast<unsigned char*>(std::to_address(first));
        for (const char byte : ascii) {
            std::uint32_t bits = 0;
            std::memcpy(&bits, out, sizeof bits);
            flags |= bits;
            const std::uint64_t word = low | static_cast<unsigned char>(byte);
            std::memcpy(out, &word, sizeof word);
            std::memcpy(out + sizeof word, &high, sizeof high);
            out += sizeof(Cell);
        }
    } else {
        for (auto cell = first; cell != first + (end - col); ++cell) {
            flags |= cell->bits;
        }
        const Style pen = style;
        auto cell = first;
        for (const char byte : ascii) {
            cell->bits = static_cast<unsigned char>(byte);
            cell->style = pen;
            ++cell;
        }
    }
    used_ = std::max(used_, end);
    styled_ = styled_ || !style.is_default();
    if ((flags & (Cell::kWide | Cell::kContinuation)) != 0) {
        repair_wide_around(col, end);
    }
}

void Row::erase(int begin, int end, const Style& fill) {
    begin = std::max(begin, 0);
    end = std::min(end, cols());
    if (begin >= end) {
        return;
    }
    const Style style = erase_style(fill);
    if (cells_.empty() && style.is_default()) {
        return; // already all plain blanks
    }
    materialize();
    if (!marks_.empty()) {
        drop_marks(begin, end);
    }
    std::fill(cells_.begin() + begin, cells_.begin() + end, Cell{.style = style});
    if (!style.is_default()) {
        used_ = std::max(used_, end);
        styled_ = true;
    } else if (end >= used_) {
        used_ = std::min(used_, begin);
    }
    repair_wide_around(begin, end);
}

void Row::copy(int begin, const Row& source, int source_begin, int count) {
    count = std::min({count, cols() - begin, source.cols() - source_begin});
    if (begin < 0 || source_begin < 0 || count <= 0) {
        return;
    }
    if (source.cells_.empty()) {
        // Copying plain blanks is erasing in the default style.
        erase(begin, begin + count, Style{});
        return;
    }
    materialize();
    // Marks are collected before the destination's are dropped, since source
    // may be this row, and their flags are set again after the cells moved.
    const bool any_marks = !marks_.empty() || !source.marks_.empty();
    std::vector<CellMarks> moved;
    if (any_marks) {
        for (const auto& entry : source.marks_) {
            if (entry.col >= source_begin && entry.col < source_begin + count) {
                moved.push_back({entry.col - source_begin + begin, entry.marks});
            }
        }
        drop_marks(begin, begin + count);
    }

    const auto from = source.cells_.begin() + source_begin;
    const auto to = cells_.begin() + begin;
    if (&source == this && begin > source_begin) {
        std::copy_backward(from, from + count, to + count);
    } else {
        std::copy(from, from + count, to);
    }

    if (any_marks) {
        for (auto it = to; it != to + count; ++it) {
            it->bits &= ~Cell::kHasMarks;
        }
        for (auto& entry : moved) {
            cells_[static_cast<std::size_t>(entry.col)].bits |= Cell::kHasMarks;
            marks_.push_back(std::move(entry));
        }
    }
    used_ = std::max(used_, begin + count);
    styled_ = styled_ || source.styled_;
    repair_wide_around(begin, begin + count);
}

void Row::blank(int col) {
    auto& c = cells_[static_cast<std::size_t>(col)];
    if (c.has_marks()) {
        drop_marks(col, col + 1);
    }
    c.bits = 0;
}

// After cells [begin, end) were written, a glyph may have lost one half: at
// the edges of the range, or inside it when a copy started or ended in the
// middle of a glyph. Heads first: blanking an orphaned head can orphan the
// continuation after it, never the other way round.
void Row::repair_wide_around(int begin, int end) {
    const int candidates[] = {begin - 1, begin, end - 1, end};
    for (const int col : candidates) {
        if (col >= 0 && col < cols() && cell(col).wide() &&
            (col + 1 >= cols() || !cell(col + 1).continuation())) {
            blank(col);
        }
    }
    for (const int col : candidates) {
        if (col >= 0 && col < cols() && cell(col).continuation() &&
            (col == 0 || !cell(col - 1).wide())) {
            blank(col);
        }
    }
}

void Row::drop_marks(int begin, int end) {
    std::erase_if(marks_, [&](const CellMarks& entry) {
        if (entry.col < begin || entry.col >= end) {
            return false;
        }
        cells_[static_cast<std::size_t>(entry.col)].bits &= ~Cell::kHasMarks;
        return true;
    });
}

} // namespace sb::term
