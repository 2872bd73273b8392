#include "term/render.hpp"

#include <fmt/format.h>

#include "term/unicode.hpp"

namespace sb::term {

namespace {

void append_glyph(std::string& out, const Row& row, int col) {
    const Cell& cell = row.cell(col);
    append_utf8(out, cell.code_point() == 0 ? U' ' : cell.code_point());
    for (const char32_t mark : row.marks(col)) {
        append_utf8(out, mark);
    }
}

void append_color(std::string& out, const Color& color, bool foreground) {
    switch (color.kind()) {
    case Color::Kind::Default:
        return;
    case Color::Kind::Indexed: {
        const int index = color.index();
        if (index < 8) {
            out += fmt::format(";{}", (foreground ? 30 : 40) + index);
        } else if (index < 16) {
            out += fmt::format(";{}", (foreground ? 90 : 100) + index - 8);
        } else {
            out += fmt::format(";{};5;{}", foreground ? 38 : 48, index);
        }
        return;
    }
    case Color::Kind::Rgb: {
        const Rgb rgb = color.rgb();
        out += fmt::format(";{};2;{};{};{}", foreground ? 38 : 48, rgb.red, rgb.green, rgb.blue);
        return;
    }
    }
}

// Where the row's trailing blanks that all share one style begin.
int blank_tail(const Row& row) {
    int begin = row.cols();
    while (begin > 0 && row.cell(begin - 1).blank() &&
           row.cell(begin - 1).style == row.cell(row.cols() - 1).style) {
        --begin;
    }
    return begin;
}

} // namespace

std::string plain_text(const Row& row) {
    std::string out;
    out.reserve(static_cast<std::size_t>(row.used()));
    for (int col = 0; col < row.used(); ++col) {
        if (!row.cell(col).continuation()) {
            append_glyph(out, row, col);
        }
    }
    out.erase(out.find_last_not_of(' ') + 1);
    return out;
}

void append_sgr(std::string& out, const Style& style) {
    out += "\x1b[0";
    const Attributes& a = style.attributes;
    if (a.bold) {
        out += ";1";
    }
    if (a.faint) {
        out += ";2";
    }
    if (a.italic) {
        out += ";3";
    }
    switch (a.underline) {
    case Underline::None:
        break;
    case Underline::Single:
        out += ";4";
        break;
    case Underline::Double:
        out += ";21";
        break;
    case Underline::Curly:
        out += ";4:3";
        break;
    }
    if (a.blink) {
        out += ";5";
    }
    if (a.reverse) {
        out += ";7";
    }
    if (a.strike) {
        out += ";9";
    }
    append_color(out, style.foreground, true);
    append_color(out, style.background, false);
    out += 'm';
}

void append_ansi(std::string& out, const Row& row) {
    if (row.cols() == 0) {
        return;
    }
    const int tail = blank_tail(row);
    const Style tail_style = row.cell(row.cols() - 1).style;
    // A tail in the default style is left out; one that only has a background
    // is drawn by erasing; any other (underlined or reversed blanks) is written.
    const bool erase_tail = !tail_style.is_default() && tail_style == erase_style(tail_style);
    const int end = tail_style.is_default() || erase_tail ? tail : row.cols();

    Style current;
    for (int col = 0; col < end; ++col) {
        const Cell& cell = row.cell(col);
        if (cell.continuation()) {
            continue;
        }
        if (cell.style != current) {
            append_sgr(out, cell.style);
            current = cell.style;
        }
        append_glyph(out, row, col);
    }
    if (erase_tail && tail < row.cols()) {
        if (tail_style != current) {
            append_sgr(out, tail_style);
            current = tail_style;
        }
        out += "\x1b[K";
    }
    if (!current.is_default()) {
        out += "\x1b[0m";
    }
}

} // namespace sb::term
