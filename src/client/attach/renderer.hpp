#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/attach/canvas.hpp"

namespace sb::client::attach {

// How many colours the person's terminal shows; colours beyond it are
// downgraded to the nearest it has.
enum class ColorDepth { Ansi16, Palette256, TrueColor };

// Picks the depth from COLORTERM and TERM as terminals announce it.
ColorDepth detect_color_depth(const char* colorterm, const char* term);

// Draws canvases on the person's terminal: only the cells that differ from
// what it already shows, with the fewest cursor moves and SGR changes, inside
// a synchronized update so that a frame never shows half-drawn. A frame that
// only adds ASCII text at the cursor, leaving the cursor after it, is sent
// bare, as a typed key's echo would be.
class Renderer {
public:
    explicit Renderer(ColorDepth depth) : depth_(depth) {}

    // The bytes that turn the terminal from the last canvas into `next`.
    // With `rows`, only the rows marked there can differ from the last
    // canvas, and only they are compared; with `spans` too, only the columns
    // [first, second) it gives for each of them.
    std::string render(const Canvas& next, const std::vector<std::uint8_t>* rows = nullptr,
                       const std::vector<std::pair<int, int>>* spans = nullptr);
    // Text typed at the cursor, as render() would draw it but without
    // comparing canvases: the cells [col, col + n) of `row` become `cells`,
    // printable ASCII in the pen the terminal has now, where the terminal's
    // cursor is (shown), leaving it right after them, short of the last
    // column. The bare text; nothing, and nothing changed, when the terminal
    // is not in that state (render() then draws the change).
    std::optional<std::string> typed(int row, int col, const std::vector<Cell>& cells);
    // Everything is drawn again on the next render (after a resize, or when
    // something else may have written to the terminal).
    void invalidate() {
        valid_ = false;
        cursor_shown_ = false;
    }

private:
    void move_to(std::string& out, int row, int col);
    void set_style(std::string& out, const Style& style);
    void append_color(std::string& out, const protocol::WireColor& color, bool foreground) const;

    ColorDepth depth_;
    Canvas front_;
    bool valid_ = false;
    int cursor_row_ = -1;
    int cursor_col_ = -1;
    // Whether the terminal shows its cursor now.
    bool cursor_shown_ = false;
    // Of the frame being rendered: whether the cursor was moved other than by
    // the text, and whether all text was ASCII.
    bool moved_ = false;
    bool plain_text_ = true;
    Style pen_;
    bool pen_known_ = false;
};

} // namespace sb::client::attach
