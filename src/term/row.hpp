#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "term/cell.hpp"

namespace sb::term {

// Combining marks of one cell, kept beside the row because few cells have any.
struct CellMarks {
    int col = 0;
    std::u32string marks;

    bool operator==(const CellMarks&) const = default;
};

// The most combining marks kept on one glyph. Enough for real scripts and
// stacked accents; InputFilter drops the excess before libvterm sees it.
inline constexpr int kMaxMarksPerCell = 16;

// One row of cells. Keeps double-width glyphs whole: writing over either half
// of one blanks the other half, so a head is always followed by its
// continuation and renderers never see half a glyph.
//
// A row that was never written holds no cells: most rows of an idle worker's
// screen, and all of a never-used alternate screen, cost only the object.
class Row {
public:
    explicit Row(int cols = 0);

    int cols() const { return cols_; }
    const Cell& cell(int col) const {
        return cells_.empty() ? kBlank : cells_[static_cast<std::size_t>(col)];
    }
    // Every cell in order; empty while the row was never written (all blank).
    std::span<const Cell> cells() const { return cells_; }
    std::span<const char32_t> marks(int col) const;
    // Whether any cell of the row has combining marks.
    bool any_marks() const { return !marks_.empty(); }
    CellView view(int col) const;

    // Every cell from this column on is a plain blank, so clearing and
    // trimming the row only need to look at the columns before it.
    int used() const { return used_; }
    bool empty() const;
    // Every cell is in the default style: no colour, no attribute. (False
    // says only that some cell may not be, since it was written in another.)
    bool default_style() const { return !styled_; }

    void resize(int cols);
    // Blanks every cell in the fill style (only its background is used).
    void clear(const Style& fill);
    void put(int col, char32_t base, std::span<const char32_t> marks, int width,
             const Style& style);
    // put() of one single-width character without marks, in the common case
    // where it replaces a single-width cell without marks in a written row:
    // returns false, having done nothing, when put() is needed instead.
    bool put_narrow(int col, char32_t base, const Style& style) {
        if (cells_.empty() || !marks_.empty() || col < 0 || col >= cols_) {
            return false;
        }
        Cell& cell = cells_[static_cast<std::size_t>(col)];
        if ((cell.bits & (Cell::kWide | Cell::kContinuation)) != 0) {
            return false;
        }
        cell.bits = base & Cell::kCodeMask;
        cell.style = style;
        styled_ = styled_ || !style.is_default();
        used_ = col < used_ ? used_ : col + 1;
        return true;
    }
    // put() of each byte of `ascii` (printable ASCII) in the columns from
    // `col` on, in one pass: what the screen's fast path for plain text
    // writes. The text must fit in the row.
    void put_text(int col, std::string_view ascii, const Style& style);
    // Blanks cells [begin, end) in the fill style's background (erase uses the
    // current background colour, as xterm does).
    void erase(int begin, int end, const Style& fill);
    // Copies `count` cells of `source` starting at `source_begin` to this row
    // starting at `begin`. `source` may be this row; overlapping ranges copy as
    // if through a temporary.
    void copy(int begin, const Row& source, int source_begin, int count);

private:
    static constexpr Cell kBlank{};

    // Gives the row its cells (plain blanks) before the first write.
    void materialize();
    // Blanks a cell but keeps its style, for the half of a glyph whose other
    // half was overwritten.
    void blank(int col);
    void repair_wide_around(int begin, int end);
    void drop_marks(int begin, int end);

    // Empty until the row is first written; then cols_ cells.
    std::vector<Cell> cells_;
    std::vector<CellMarks> marks_;
    int cols_ = 0;
    int used_ = 0;
    // Some cell was written in a style other than the default since the
    // row was last cleared in it (see default_style()).
    bool styled_ = false;
};

// The style of cells blanked by erasing or scrolling while `pen` is current:
// its background only.
constexpr Style erase_style(const Style& pen) {
    return Style{.background = pen.background};
}

} // namespace sb::term
