#include "client/attach/renderer.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string_view>

namespace sb::client::attach {

namespace {

using protocol::WireColor;

// xterm's default palette for the 16 basic colours, to find the nearest.
constexpr std::array<std::array<int, 3>, 16> basic_palette = {{
    {0, 0, 0},
    {205, 0, 0},
    {0, 205, 0},
    {205, 205, 0},
    {0, 0, 238},
    {205, 0, 205},
    {0, 205, 205},
    {229, 229, 229},
    {127, 127, 127},
    {255, 0, 0},
    {0, 255, 0},
    {255, 255, 0},
    {92, 92, 255},
    {255, 0, 255},
    {0, 255, 255},
    {255, 255, 255},
}};

std::array<int, 3> palette_rgb(int index) {
    if (index < 16) {
        return basic_palette[static_cast<std::size_t>(index)];
    }
    if (index < 232) {
        const int i = index - 16;
        const auto level = [](int v) { return v == 0 ? 0 : 55 + v * 40; };
        return {level(i / 36), level((i / 6) % 6), level(i % 6)};
    }
    const int grey = 8 + (index - 232) * 10;
    return {grey, grey, grey};
}

int nearest_basic(int red, int green, int blue) {
    int best = 0;
    long best_distance = -1;
    for (int i = 0; i < 16; ++i) {
        const auto& c = basic_palette[static_cast<std::size_t>(i)];
        const long distance = (c[0] - red) * (c[0] - red) + (c[1] - green) * (c[1] - green) +
                              (c[2] - blue) * (c[2] - blue);
        if (best_distance < 0 || distance < best_distance) {
            best = i;
            best_distance = distance;
        }
    }
    return best;
}

int nearest_256(int red, int green, int blue) {
    const auto cube = [](int v) { return v < 48 ? 0 : v < 115 ? 1 : (v - 35) / 40; };
    const int r = cube(red);
    const int g = cube(green);
    const int b = cube(blue);
    const int cube_index = 16 + 36 * r + 6 * g + b;
    const auto cube_rgb = palette_rgb(cube_index);
    const int average = (red + green + blue) / 3;
    const int grey_index = average > 238 ? 255 : 232 + std::max(0, (average - 3) / 10);
    const auto grey_rgb = palette_rgb(grey_index);
    const auto distance = [&](const std::array<int, 3>& c) {
        return (c[0] - red) * (c[0] - red) + (c[1] - green) * (c[1] - green) +
               (c[2] - blue) * (c[2] - blue);
    };
    return distance(grey_rgb) < distance(cube_rgb) ? grey_index : cube_index;
}

bool blank(const Cell& cell) {
    return cell.width == 1 && (cell.text.empty() || cell.text == " ");
}

} // namespace

ColorDepth detect_color_depth(const char* colorterm, const char* term) {
    const std::string_view ct = colorterm == nullptr ? "" : colorterm;
    if (ct == "truecolor" || ct == "24bit") {
        return ColorDepth::TrueColor;
    }
    const std::string_view t = term == nullptr ? "" : term;
    if (t.find("256color") != std::string_view::npos ||
        t.find("direct") != std::string_view::npos) {
        return ColorDepth::Palette256;
    }
    return ColorDepth::Ansi16;
}

void Renderer::append_color(std::string& out, const WireColor& color, bool foreground) const {
    switch (color.kind) {
    case WireColor::Kind::Default:
        return;
    case WireColor::Kind::Indexed: {
        int index = color.red;
        if (index >= 16 && depth_ == ColorDepth::Ansi16) {
            const auto rgb = palette_rgb(index);
            index = nearest_basic(rgb[0], rgb[1], rgb[2]);
        }
        if (index < 8) {
            out += ';' + std::to_string((foreground ? 30 : 40) + index);
        } else if (index < 16) {
            out += ';' + std::to_string((foreground ? 90 : 100) + index - 8);
        } else {
            out += (foreground ? ";38;5;" : ";48;5;") + std::to_string(index);
        }
        return;
    }
    case WireColor::Kind::Rgb:
        if (depth_ == ColorDepth::TrueColor) {
            out += (foreground ? ";38;2;" : ";48;2;") + std::to_string(color.red) + ';' +
                   std::to_string(color.green) + ';' + std::to_string(color.blue);
            return;
        }
        if (depth_ == ColorDepth::Palette256) {
            out += (foreground ? ";38;5;" : ";48;5;") +
                   std::to_string(nearest_256(color.red, color.green, color.blue));
            return;
        }
        {
            const int index = nearest_basic(color.red, color.green, color.blue);
            out += ';' + std::to_string(index < 8 ? (foreground ? 30 : 40) + index
                                                  : (foreground ? 90 : 100) + index - 8);
        }
        return;
    }
}

void Renderer::set_style(std::string& out, const Style& style) {
    if (pen_known_ && style == pen_) {
        return;
    }
    out += "\x1b[0";
    if (style.attributes & Style::kBold) {
        out += ";1";
    }
    if (style.attributes & Style::kFaint) {
        out += ";2";
    }
    if (style.attributes & Style::kItalic) {
        out += ";3";
    }
    switch (style.underline) {
    case 1:
        out += ";4";
        break;
    case 2:
        out += ";21";
        break;
    case 3:
        out += ";4:3";
        break;
    default:
        break;
    }
    if (style.attributes & Style::kBlink) {
        out += ";5";
    }
    if (style.attributes & Style::kReverse) {
        out += ";7";
    }
    if (style.attributes & Style::kStrike) {
        out += ";9";
    }
    append_color(out, style.foreground, true);
    append_color(out, style.background, false);
    out += 'm';
    pen_ = style;
    pen_known_ = true;
}

void Renderer::move_to(std::string& out, int row, int col) {
    if (row == cursor_row_ && col == cursor_col_) {
        return;
    }
    moved_ = true;
    if (row == cursor_row_ && col > cursor_col_ && col - cursor_col_ <= 4) {
        out += "\x1b[" + std::to_string(col - cursor_col_) + "C";
    } else if (col == 0 && row == cursor_row_ + 1 && cursor_row_ >= 0) {
        out += "\r\n";
    } else {
        out += "\x1b[" + std::to_string(row + 1) + ";" + std::to_string(col + 1) + "H";
    }
    cursor_row_ = row;
    cursor_col_ = col;
}

std::string Renderer::render(const Canvas& next, const std::vector<std::uint8_t>* rows,
                             const std::vector<std::pair<int, int>>* spans) {
    std::string out;
    moved_ = false;
    plain_text_ = true;
    if (!valid_ || front_.rows != next.rows || front_.cols != next.cols) {
        moved_ = true;
        rows = nullptr;
        spans = nullptr;
        // Unknown contents: clear to blanks in the default style, which the
        // blank front canvas then describes.
        pen_known_ = false;
        set_style(out, Style{});
        out += "\x1b[H\x1b[2J";
        cursor_row_ = 0;
        cursor_col_ = 0;
        front_ = Canvas(next.rows, next.cols);
        front_.title = "\x01"; // never a real title: set it on this render
        front_.cursor.shape = -1;
        valid_ = true;
    }
    for (int row = 0; row < next.rows; ++row) {
        if (rows != nullptr && (static_cast<std::size_t>(row) >= rows->size() ||
                                (*rows)[static_cast<std::size_t>(row)] == 0)) {
            continue;
        }
        // Only the span from the first to the last cell that differs is
        // drawn (a typed key's frame changes one cell of one row), widened by
        // a cell each way so that both halves of a wide glyph are in it.
        const auto first = static_cast<std::ptrdiff_t>(row) * next.cols;
        int lo = 0;
        int hi = next.cols;
        if (spans != nullptr && static_cast<std::size_t>(row) < spans->size()) {
            lo = std::clamp((*spans)[static_cast<std::size_t>(row)].first, 0, next.cols);
            hi = std::clamp((*spans)[static_cast<std::size_t>(row)].second, lo, next.cols);
        }
        const auto [differs, last] =
            changed_span(next.cells.data() + first, front_.cells.data() + first, lo, hi);
        if (differs == last) {
            continue;
        }
        const int begin = std::max(0, differs - 1);
        const int end = std::min(next.cols, last + 1);
        for (int col = begin; col < end; ++col) {
            const Cell& want = next.at(row, col);
            if (want.width == 0) {
                continue; // drawn with its left half
            }
            const bool wide = want.width == 2 && col + 1 < next.cols;
            bool changed = want != front_.at(row, col);
            if (wide) {
                changed = changed || next.at(row, col + 1) != front_.at(row, col + 1);
            } else if (col + 1 < next.cols && front_.at(row, col + 1).width == 0) {
                // The glyph here was wide and its right half must be redrawn.
                changed = changed || front_.at(row, col).width == 2;
            }
            if (!changed) {
                continue;
            }
            // The rest of the row is blank in the default background: erase it.
            if (blank(want) && want.style.is_default()) {
                int end = col;
                while (end < next.cols && blank(next.at(row, end)) &&
                       next.at(row, end).style.is_default()) {
                    ++end;
                }
                if (end == next.cols && next.cols - col > 4) {
                    move_to(out, row, col);
                    set_style(out, Style{});
                    out += "\x1b[K";
                    // Spaces and never-written cells look the same.
                    std::copy(next.cells.begin() + first + col,
                              next.cells.begin() + first + next.cols,
                              front_.cells.begin() + first + col);
                    break;
                }
            }
            move_to(out, row, col);
            set_style(out, want.style);
            if (want.width == 2 && !wide) {
                out += ' '; // half a wide glyph at the edge cannot be shown
            } else if (want.text.empty()) {
                out += ' ';
            } else {
                out += want.text;
                plain_text_ = plain_text_ && want.text.size() == 1 &&
                              static_cast<unsigned char>(want.text[0]) < 0x80;
            }
            front_.at(row, col) = want;
            if (wide) {
                front_.at(row, col + 1) = next.at(row, col + 1);
            }
            const int advance = wide ? 2 : 1;
            cursor_col_ += advance;
            if (cursor_col_ >= next.cols) {
                // Pending wrap: where the cursor is is up to the terminal.
                cursor_row_ = -1;
                cursor_col_ = -1;
            }
            if (wide) {
                ++col;
            }
        }
    }
    set_style(out, Style{});
    if (next.title != front_.title) {
        out += "\x1b]2;" + next.title + "\x1b\\";
        front_.title = next.title;
    }
    if (next.cursor.shape != front_.cursor.shape) {
        out += "\x1b[" + std::to_string(next.cursor.shape) + " q";
        front_.cursor.shape = next.cursor.shape;
    }
    const int row = std::clamp(next.cursor.row, 0, std::max(0, next.rows - 1));
    const int col = std::clamp(next.cursor.col, 0, std::max(0, next.cols - 1));
    // A character typed at the cursor (the echo of a key, most frames while
    // someone types): the text left the cursor where it should be, so it is
    // sent as it is, the way it would reach a terminal without switchboard.
    // Only ASCII, whose width every terminal agrees on, so the cursor is
    // known to be where it is counted to be.
    if (!moved_ && plain_text_ && cursor_shown_ && next.cursor.visible && row == cursor_row_ &&
        col == cursor_col_) {
        return out;
    }
    std::string framed = "\x1b[?2026h\x1b[?25l";
    framed.reserve(out.size() + 40);
    framed += out;
    framed += "\x1b[" + std::to_string(row + 1) + ";" + std::to_string(col + 1) + "H";
    cursor_row_ = row;
    cursor_col_ = col;
    cursor_shown_ = next.cursor.visible;
    if (next.cursor.visible) {
        framed += "\x1b[?25h";
    }
    framed += "\x1b[?2026l";
    return framed;
}

std::optional<std::string> Renderer::typed(int row, int col, const std::vector<Cell>& cells) {
    const int count = static_cast<int>(cells.size());
    if (!valid_ || !cursor_shown_ || !pen_known_ || row != cursor_row_ || col != cursor_col_ ||
        count == 0 || row < 0 || row >= front_.rows || col < 0 || col + count >= front_.cols) {
        return std::nullopt;
    }
    // No half of a wide glyph among the cells written over or right after
    // them, where a terminal would redraw more than these cells.
    for (int c = col; c <= col + count; ++c) {
        if (front_.at(row, c).width != 1) {
            return std::nullopt;
        }
    }
    std::string out;
    out.reserve(cells.size());
    for (const Cell& cell : cells) {
        const auto c = cell.text.size() == 1 ? static_cast<unsigned char>(cell.text[0]) : 0;
        if (cell.width != 1 || c < 0x20 || c > 0x7e || !(cell.style == pen_)) {
            return std::nullopt;
        }
        out += static_cast<char>(c);
    }
    std::copy(cells.begin(), cells.end(), front_.cells.begin() + row * front_.cols + col);
    cursor_col_ += count;
    return out;
}

int Canvas::put_text(int row, int col, std::string_view text, const Style& style, int end_col) {
    if (end_col < 0 || end_col > cols) {
        end_col = cols;
    }
    std::size_t at = 0;
    while (at < text.size() && col < end_col) {
        std::size_t length = 1;
        const auto lead = static_cast<unsigned char>(text[at]);
        if (lead >= 0xf0) {
            length = 4;
        } else if (lead >= 0xe0) {
            length = 3;
        } else if (lead >= 0xc0) {
            length = 2;
        }
        length = std::min(length, text.size() - at);
        Cell& cell = this->at(row, col);
        cell.text.assign(text.substr(at, length));
        cell.width = 1;
        cell.style = style;
        at += length;
        ++col;
    }
    return col;
}

void Canvas::fill(int row, int col, int count, const Style& style, std::string_view glyph) {
    for (int c = col; c < std::min(cols, col + count); ++c) {
        Cell& cell = at(row, c);
        cell.text.assign(glyph);
        cell.width = 1;
        cell.style = style;
    }
}

} // namespace sb::client::attach
