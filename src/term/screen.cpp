#include "term/screen.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <new>

#include <fmt/format.h>
#include <vterm.h>

#include "term/render.hpp"
#include "term/unicode.hpp"

// VTermGlue below is written against the libvterm 0.1 API of Debian 12. 0.2
// and later changed the unrecognised-sequence fallbacks (VTermStateFallbacks,
// OSC strings in fragments), the state resize callback (VTermStateFields) and
// string properties (VTermStringFragment), and report ED 3 through sb_clear;
// porting means changing this file only.
#if VTERM_VERSION_MAJOR != 0 || VTERM_VERSION_MINOR != 1
#error "src/term/screen.cpp targets the libvterm 0.1 API; see the comment above"
#endif

namespace sb::term {

namespace {

// Sizes beyond these are a mistake somewhere (a corrupt window size), not a
// terminal; clamping keeps one screen's cells within a few MB.
constexpr int kMaxRows = 500;
constexpr int kMaxCols = 1000;

int clamp_rows(int rows) {
    return std::clamp(rows, 1, kMaxRows);
}

int clamp_cols(int cols) {
    return std::clamp(cols, 1, kMaxCols);
}

Color to_color(const VTermColor& color) {
    if (VTERM_COLOR_IS_DEFAULT_FG(&color) || VTERM_COLOR_IS_DEFAULT_BG(&color)) {
        return Color();
    }
    if (VTERM_COLOR_IS_INDEXED(&color)) {
        return Color::indexed(color.indexed.idx);
    }
    return Color::rgb(color.rgb.red, color.rgb.green, color.rgb.blue);
}

// Where the printable text at the start of `text` ends: at its first CR or
// LF, or its end. memchr rather than a loop: lines are long.
std::size_t line_end(std::string_view text) {
    // Short lines are quicker to look through byte by byte. Text here is
    // printable ASCII, CR and LF, so a byte below a space is a line end.
    constexpr std::size_t kShort = 16;
    for (std::size_t at = 0; at < std::min(text.size(), kShort); ++at) {
        if (static_cast<unsigned char>(text[at]) < 0x20) {
            return at;
        }
    }
    if (text.size() <= kShort) {
        return text.size();
    }
    std::size_t end = text.size();
    if (const void* cr = std::memchr(text.data(), '\r', end)) {
        end = static_cast<std::size_t>(static_cast<const char*>(cr) - text.data());
    }
    if (const void* lf = std::memchr(text.data(), '\n', end)) {
        end = static_cast<std::size_t>(static_cast<const char*>(lf) - text.data());
    }
    return end;
}

// Appends a non-negative number in decimal.
char* append_number(char* out, int value) {
    std::array<char, 12> digits; // NOLINT: written before it is read
    std::size_t count = 0;
    do {
        digits[count++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value > 0);
    while (count > 0) {
        *out++ = digits[--count];
    }
    return out;
}

// Appends CSI first ; second final, or CSI first final when second < 0:
// the cursor movements the fast path for text gives libvterm, made without
// fmt's format-string parsing, which costs more than the sequence saves.
char* append_csi(char* out, int first, int second, char final) {
    *out++ = '\x1b';
    *out++ = '[';
    out = append_number(out, first);
    if (second >= 0) {
        *out++ = ';';
        out = append_number(out, second);
    }
    *out++ = final;
    return out;
}

char32_t to_code_point(std::uint32_t value) {
    // libvterm's decoder accepts 5- and 6-byte sequences; nothing past
    // U+10FFFF is a character.
    return value > 0x10ffff ? U'\uFFFD' : static_cast<char32_t>(value);
}

} // namespace

// libvterm's callbacks, which forward to the Screen given as their user data.
struct VTermGlue {
    static Screen& self(void* user) { return *static_cast<Screen*>(user); }

    static int putglyph(VTermGlyphInfo* info, VTermPos pos, void* user) {
        Screen& s = self(user);
        if (s.muted_ || pos.row < 0 || pos.row >= s.active_->rows()) {
            return 1;
        }
        s.last_glyph_row_ = pos.row;
        s.last_glyph_col_ = pos.col;
        s.last_glyph_width_ = info->width;
        // The common case, most of the bytes a program prints: one character
        // of one column, without combining marks.
        if (info->width == 1 && info->chars[0] != 0 && info->chars[0] <= 0x10ffff &&
            info->chars[1] == 0 &&
            s.active_->row(pos.row).put_narrow(pos.col, static_cast<char32_t>(info->chars[0]),
                                               s.pen_)) {
            s.damage_row(pos.row);
            return 1;
        }
        return putglyph_general(info, pos, s);
    }

    // Kept out of line so that the common case above stays small.
    [[gnu::noinline]] static int putglyph_general(VTermGlyphInfo* info, VTermPos pos, Screen& s) {
        // The glyph's characters: base then combining marks, at most what a cell keeps.
        std::array<char32_t, kMaxMarksPerCell + 1> chars{};
        std::size_t count = 0;
        while (count < chars.size() && info->chars[count] != 0) {
            chars[count] = to_code_point(info->chars[count]);
            ++count;
        }
        if (count == 0) {
            return 1;
        }
        char32_t base = chars[0];
        std::span<const char32_t> marks(chars.data() + 1, count - 1);
        int width = std::min(info->width, 2);
        if (width <= 0) {
            // Combining marks with no glyph to join (libvterm prints them on
            // their own): keep them on a space so they take their column.
            base = U' ';
            marks = std::span<const char32_t>(chars.data(), std::min(count, chars.size() - 1));
            width = 1;
        }
        s.active_->row(pos.row).put(pos.col, base, marks, width, s.pen_);
        s.damage_row(pos.row);
        return 1;
    }

    static int movecursor(VTermPos pos, VTermPos /*oldpos*/, int visible, void* user) {
        Screen& s = self(user);
        if (s.muted_) {
            return 1;
        }
        s.cursor_.row = pos.row;
        s.cursor_.col = pos.col;
        s.cursor_.visible = visible != 0;
        ++s.generation_;
        return 1;
    }

    static int scrollrect(VTermRect rect, int downward, int rightward, void* user) {
        Screen& s = self(user);
        RowRing& buffer = *s.active_;
        const bool whole_rows =
            rightward == 0 && rect.start_col == 0 && rect.end_col == buffer.cols();
        if (s.watching_scroll_) {
            // A line feed from print_text scrolled this region: later line
            // feeds at its bottom row scroll it too until the margins change.
            s.region_.known = whole_rows && downward == 1;
            s.region_.top = rect.start_row;
            s.region_.bottom = rect.end_row;
            s.region_.margins_epoch = s.filter_.margins_epoch();
        }
        if (whole_rows) {
            if (downward > 0) {
                s.scroll_rows_up(rect.start_row, rect.end_row, downward);
            } else {
                buffer.scroll_down(rect.start_row, rect.end_row, -downward, s.pen_);
                s.damage(rect.start_row, rect.end_row);
            }
            return 1;
        }

        // Part of the width (left/right margins) or sideways (ICH, DCH):
        // move the cells that stay, then blank the ones they left.
        const int height = rect.end_row - rect.start_row;
        const int width = rect.end_col - rect.start_col;
        const int down = std::clamp(downward, -height, height);
        const int right = std::clamp(rightward, -width, width);
        VTermRect source = rect;
        VTermRect dest = rect;
        if (down >= 0) {
            source.start_row += down;
            dest.end_row -= down;
        } else {
            source.end_row += down;
            dest.start_row -= down;
        }
        if (right >= 0) {
            source.start_col += right;
            dest.end_col -= right;
        } else {
            source.end_col += right;
            dest.start_col -= right;
        }
        if (dest.end_row > dest.start_row && dest.end_col > dest.start_col) {
            moverect(dest, source, user);
        }
        const auto blank = [&](int top, int bottom, int left, int right_edge) {
            erase(VTermRect{top, bottom, left, right_edge}, 0, user);
        };
        if (down > 0) {
            blank(rect.end_row - down, rect.end_row, rect.start_col, rect.end_col);
        } else if (down < 0) {
            blank(rect.start_row, rect.start_row - down, rect.start_col, rect.end_col);
        }
        if (right > 0) {
            blank(rect.start_row, rect.end_row, rect.end_col - right, rect.end_col);
        } else if (right < 0) {
            blank(rect.start_row, rect.end_row, rect.start_col, rect.start_col - right);
        }
        return 1;
    }

    static int moverect(VTermRect dest, VTermRect source, void* user) {
        Screen& s = self(user);
        RowRing& buffer = *s.active_;
        const int height = dest.end_row - dest.start_row;
        const int width = dest.end_col - dest.start_col;
        // Rows in the order that never overwrites a row still to be copied.
        const bool upward = dest.start_row <= source.start_row;
        for (int i = 0; i < height; ++i) {
            const int offset = upward ? i : height - 1 - i;
            buffer.row(dest.start_row + offset)
                .copy(dest.start_col, buffer.row(source.start_row + offset), source.start_col,
                      width);
        }
        s.damage(dest.start_row, dest.end_row);
        return 1;
    }

    static int erase(VTermRect rect, int /*selective*/, void* user) {
        // Selective erase (DECSED/DECSEL) erases everything: protected cells
        // are not tracked.
        Screen& s = self(user);
        const int top = std::max(rect.start_row, 0);
        const int bottom = std::min(rect.end_row, s.active_->rows());
        for (int row = top; row < bottom; ++row) {
            s.active_->row(row).erase(rect.start_col, rect.end_col, s.pen_);
        }
        s.damage(top, bottom);
        return 1;
    }

    static int initpen(void* user) {
        self(user).pen_ = Style();
        self(user).libvterm_pen_ = Style();
        return 1;
    }

    static int setpenattr(VTermAttr attr, VTermValue* value, void* user) {
        set_pen_attribute(self(user).pen_, attr, *value);
        set_pen_attribute(self(user).libvterm_pen_, attr, *value);
        return 1;
    }

    static void set_pen_attribute(Style& pen, VTermAttr attr, const VTermValue& value) {
        switch (attr) {
        case VTERM_ATTR_BOLD:
            pen.attributes.bold = value.boolean != 0;
            break;
        case VTERM_ATTR_UNDERLINE:
            pen.attributes.underline = static_cast<Underline>(value.number & 3);
            break;
        case VTERM_ATTR_ITALIC:
            pen.attributes.italic = value.boolean != 0;
            break;
        case VTERM_ATTR_BLINK:
            pen.attributes.blink = value.boolean != 0;
            break;
        case VTERM_ATTR_REVERSE:
            pen.attributes.reverse = value.boolean != 0;
            break;
        case VTERM_ATTR_STRIKE:
            pen.attributes.strike = value.boolean != 0;
            break;
        case VTERM_ATTR_FOREGROUND:
            pen.foreground = to_color(value.color);
            break;
        case VTERM_ATTR_BACKGROUND:
            pen.background = to_color(value.color);
            break;
        default:
            break; // fonts (SGR 10-19) are not kept
        }
    }

    static int settermprop(VTermProp prop, VTermValue* value, void* user) {
        Screen& s = self(user);
        switch (prop) {
        case VTERM_PROP_CURSORVISIBLE:
            s.cursor_.visible = value->boolean != 0;
            break;
        case VTERM_PROP_CURSORBLINK:
            s.cursor_.blink = value->boolean != 0;
            break;
        case VTERM_PROP_CURSORSHAPE:
            s.cursor_.shape =
                value->number == VTERM_PROP_CURSORSHAPE_UNDERLINE  ? CursorShape::Underline
                : value->number == VTERM_PROP_CURSORSHAPE_BAR_LEFT ? CursorShape::Bar
                                                                   : CursorShape::Block;
            break;
        case VTERM_PROP_ALTSCREEN:
            s.switch_buffer(value->boolean != 0);
            break;
        case VTERM_PROP_TITLE:
            // InputFilter bounds the string, and libvterm 0.1.4 hands it over
            // NUL-terminated.
            s.title_ = printable_utf8(value->string);
            break;
        case VTERM_PROP_REVERSE:
            s.reverse_video_ = value->boolean != 0;
            s.damage_all();
            break;
        default:
            break; // icon name; mouse modes are tracked from the sequences
        }
        ++s.generation_;
        return 1;
    }

    static int resize(int rows, int cols, VTermPos* delta, void* user) {
        Screen& s = self(user);
        int removed_top = 0;
        s.resize_buffer(s.primary_, rows, cols, s.active_ == &s.primary_, removed_top);
        if (s.alternate_) {
            s.resize_buffer(*s.alternate_, rows, cols, s.active_ == s.alternate_.get(),
                            removed_top);
        }
        delta->row = -removed_top;
        s.damaged_.assign(static_cast<std::size_t>(rows), 0);
        s.damage_all();
        return 1;
    }

    static void output(const char* bytes, std::size_t length, void* user) {
        self(user).reply(std::string_view(bytes, length));
    }

    static int csi_fallback(const char* leader, const long args[], int count,
                            const char* intermediates, char command, void* user) {
        std::array<long, 16> normalized{};
        const auto used = static_cast<std::size_t>(std::clamp(count, 0, 16));
        for (std::size_t i = 0; i < used; ++i) {
            normalized[i] = CSI_ARG_IS_MISSING(args[i]) ? -1 : CSI_ARG(args[i]);
        }
        const auto answer =
            answer_csi(leader != nullptr ? leader : "", std::span(normalized.data(), used),
                       intermediates != nullptr ? intermediates : "", command);
        if (!answer) {
            return 0;
        }
        self(user).reply(*answer);
        return 1;
    }

    static int osc_fallback(const char* command, std::size_t length, void* user) {
        Screen& s = self(user);
        const auto answer = answer_osc(std::string_view(command, length),
                                       s.filter_.string_ended_with_bel(), s.colors_);
        if (!answer) {
            return 0;
        }
        s.reply(*answer);
        return 1;
    }

    static constexpr VTermStateCallbacks kCallbacks = {
        .putglyph = putglyph,
        .movecursor = movecursor,
        .scrollrect = scrollrect,
        .moverect = moverect,
        .erase = erase,
        .initpen = initpen,
        .setpenattr = setpenattr,
        .settermprop = settermprop,
        .bell = nullptr,
        .resize = resize,
        .setlineinfo = nullptr,
    };

    static constexpr VTermParserCallbacks kFallbacks = {
        .text = nullptr,
        .control = nullptr,
        .escape = nullptr,
        .csi = csi_fallback,
        .osc = osc_fallback,
        .dcs = nullptr,
        .resize = nullptr,
    };
};

void Screen::VTermDeleter::operator()(VTerm* vt) const {
    vterm_free(vt);
}

Screen::Screen(int rows, int cols, int scrollback_lines)
    : Screen(ScreenOptions{.rows = rows, .cols = cols, .scrollback_lines = scrollback_lines}) {}

Screen::Screen(const ScreenOptions& options)
    : colors_(options.colors), primary_(clamp_rows(options.rows), clamp_cols(options.cols)),
      active_(&primary_), scrollback_(options.scrollback_lines), fast_text_(options.fast_text),
      damaged_(static_cast<std::size_t>(clamp_rows(options.rows)), 0) {
    vt_.reset(vterm_new(primary_.rows(), primary_.cols()));
    if (!vt_) {
        throw std::bad_alloc();
    }
    vterm_set_utf8(vt_.get(), 1);
    state_ = vterm_obtain_state(vt_.get());
    vterm_output_set_callback(vt_.get(), &VTermGlue::output, this);
    vterm_state_set_callbacks(state_, &VTermGlue::kCallbacks, this);
    vterm_state_set_unrecognised_fallbacks(state_, &VTermGlue::kFallbacks, this);
    vterm_state_reset(state_, 1);
}

Screen::~Screen() = default;

void Screen::feed(std::string_view bytes) {
    filter_.feed(bytes);
}

// The fast path for plain text, most of what programs print. libvterm's
// parser costs about 185 instructions a character (UTF-8 decoding, width and
// combining lookups, a callback per glyph) and several hundred a line end
// (a callback for every cursor move); here text that cannot wrap or combine
// with anything is written straight into the rows with the current pen, and
// CR and LF move a cursor of our own (DirectCursor) and scroll the rows,
// while libvterm is told only where its cursor ended up and which glyph was
// printed last (sync_libvterm), once per call rather than once per line.
//
// That needs to know what libvterm would do. Its "phantom" column (a line
// end left pending by a glyph in the last column, kept to itself) can only
// be pending with the cursor in the last column, so a cursor left of it has
// none; the direct cursor keeps one itself when it prints in the last
// column with autowrap on (InputFilter follows DECAWM). libvterm 0.1.4
// never records line attributes (DECDWL and the like take effect only when
// a setlineinfo callback accepts them, and we set none), so every row is of
// single width and a scroll has no line attributes to move. Where a line
// feed scrolls is the scrolling region, which is learnt from libvterm
// itself: a line feed is passed to it until one scrolls, and the region it
// scrolled (scrollrect) stands until a sequence that may change the margins
// (InputFilter::margins_epoch) or a resize. Text wraps as libvterm would
// wrap it once the region is known; before that, and in the last column
// without autowrap, it goes through print_plain, where libvterm prints it.
// The first character of each call still goes through libvterm, which may
// hold an unfinished UTF-8 sequence that turns into U+FFFD before it.
// InputFilter hands over only text that libvterm would print as it is (no
// insert mode, an ASCII character set, no LNM).
void Screen::print_text(std::string_view text) {
    // The direct cursor carries over from the last call while libvterm has
    // been given nothing since (settle() ends it), as between runs of text
    // with only SGR in between (apply_sgr). Otherwise it is inactive until
    // libvterm's cursor is looked at: text that starts with a character
    // looks at it after libvterm printed that.
    DirectCursor& direct = direct_;
    const int width = cols();
    bool first_printed = direct.active;
    if (!direct.active && !text.empty() && (text.front() == '\r' || text.front() == '\n')) {
        direct_cursor_from_libvterm(direct, false);
    }
    while (!text.empty()) {
        const char c = text.front();
        if (c == '\r') {
            text.remove_prefix(1);
            if (direct.active) {
                // libvterm's CR ends a pending line end by moving the cursor.
                direct.phantom = direct.phantom && direct.col == 0;
                direct.col = 0;
                continue;
            }
            vterm_input_write(vt_.get(), "\r", 1);
            direct_cursor_from_libvterm(direct, false);
            continue;
        }
        if (c == '\n') {
            text.remove_prefix(1);
            if (!direct_line_feed(direct)) {
                libvterm_line_feed(direct);
            }
            continue;
        }
        std::string_view printable = text.substr(0, line_end(text));
        if (!first_printed || !direct.active) {
            // libvterm prints the first character itself (see above).
            sync_libvterm(direct);
            vterm_input_write(vt_.get(), printable.data(), 1);
            first_printed = true;
            printable.remove_prefix(1);
            text.remove_prefix(1);
            direct_cursor_from_libvterm(direct, true);
            if (printable.empty()) {
                continue;
            }
        }
        // A line end pending: the glyph goes to the start of the next line,
        // as libvterm's wrap does (only with autowrap on, which a pending
        // line end implies: changing the mode settles the cursor first).
        if (direct.active && direct.phantom && direct_line_feed(direct)) {
            direct.col = 0;
            direct.phantom = false;
        }
        // The columns a character neither wraps from nor overwrites: all
        // with autowrap, where the one in the last column leaves a line end
        // pending; without, those before the last.
        const int end = filter_.autowrap() ? width : width - 1;
        const auto room = static_cast<std::size_t>(std::max(end - direct.col, 0));
        const std::size_t count =
            direct.active && !direct.phantom ? std::min(room, printable.size()) : 0;
        if (count > 0) {
            active_->row(direct.row).put_text(direct.col, printable.substr(0, count), pen_);
            damage_row(direct.row);
            fast_text_chars_ += count;
            direct.col += static_cast<int>(count);
            direct.glyph_pending = true;
            direct.glyph_scrolled = false;
            direct.glyph = printable[count - 1];
            direct.glyph_row = direct.row;
            direct.glyph_col = direct.col - 1;
            if (direct.col == width) {
                direct.col = width - 1;
                direct.phantom = true;
            }
            printable.remove_prefix(count);
            text.remove_prefix(count);
            continue;
        }
        if (!printable.empty()) {
            // The rest wraps before the scrolling region is known, or
            // reaches the last column without autowrap: libvterm prints it.
            sync_libvterm(direct);
            print_plain(printable);
            text.remove_prefix(printable.size());
            direct_cursor_from_libvterm(direct, true);
        }
    }
    // libvterm is told where the cursor went when it next parses anything
    // (settle); the cursor shown is this one already.
    if (direct.active) {
        show_cursor_at(direct.row, direct.col);
    }
}

void Screen::show_cursor_at(int row, int col) {
    if (cursor_.row != row || cursor_.col != col) {
        cursor_.row = row;
        cursor_.col = col;
        ++generation_;
    }
}

void Screen::settle() {
    if (direct_.active) {
        sync_libvterm(direct_);
        direct_.active = false;
    }
    settle_pen();
}

// Most of what programs print in colour is SGR between short runs of text;
// libvterm's parser takes about 900 instructions for each, its callbacks
// included. Here the common forms are read directly: parameters that are
// numbers separated by `;`, each a known attribute or colour, or a colour
// given as `38;5;n` or `38;2;r;g;b` (48 for the background) with values up
// to 255. Anything else (sub-parameters, fonts, conceal, unknown numbers,
// colours cut short) is left to libvterm whole, which then sees its pen
// brought up to date first (settle_pen).
bool Screen::apply_sgr(std::string_view params) {
    // After every CSI libvterm puts a cursor that is off the screen (a saved
    // cursor restored after a resize can be) back on it.
    VTermPos pos;
    vterm_state_get_cursorpos(state_, &pos);
    if (pos.row < 0 || pos.row >= rows() || pos.col < 0 || pos.col >= cols()) {
        return false;
    }
    // InputFilter passes on at most 16 parameters (kMaxCsiSeparators).
    std::array<int, 16> args; // NOLINT: written before it is read
    std::size_t count = 0;
    std::size_t at = 0;
    while (true) {
        int value = -1; // missing
        std::size_t digits = 0;
        while (at < params.size() && params[at] >= '0' && params[at] <= '9') {
            value = std::max(value, 0) * 10 + (params[at] - '0');
            ++at;
            if (++digits > 6) {
                return false;
            }
        }
        if (count == args.size()) {
            return false;
        }
        args[count++] = value;
        if (at == params.size()) {
            break;
        }
        if (params[at] != ';') {
            return false; // a sub-parameter, or not an SGR libvterm knows
        }
        ++at;
    }
    Style pen = pen_;
    Attributes& attributes = pen.attributes;
    const auto colour = [&](std::size_t& i, Color& color) {
        // `38;5;n` or `38;2;r;g;b`, each value at most 255.
        const auto value = [&](std::size_t k) {
            return k < count && args[k] >= 0 && args[k] <= 255 ? args[k] : -1;
        };
        if (i + 2 < count && args[i + 1] == 5 && value(i + 2) >= 0) {
            color = Color::indexed(static_cast<std::uint8_t>(args[i + 2]));
            i += 2;
            return true;
        }
        if (i + 4 < count && args[i + 1] == 2 && value(i + 2) >= 0 && value(i + 3) >= 0 &&
            value(i + 4) >= 0) {
            color = Color::rgb(static_cast<std::uint8_t>(args[i + 2]),
                               static_cast<std::uint8_t>(args[i + 3]),
                               static_cast<std::uint8_t>(args[i + 4]));
            i += 4;
            return true;
        }
        return false;
    };
    for (std::size_t i = 0; i < count; ++i) {
        const int arg = args[i];
        if (arg >= 30 && arg <= 37) {
            pen.foreground = Color::indexed(static_cast<std::uint8_t>(arg - 30));
        } else if (arg >= 40 && arg <= 47) {
            pen.background = Color::indexed(static_cast<std::uint8_t>(arg - 40));
        } else if (arg >= 90 && arg <= 97) {
            pen.foreground = Color::indexed(static_cast<std::uint8_t>(arg - 90 + 8));
        } else if (arg >= 100 && arg <= 107) {
            pen.background = Color::indexed(static_cast<std::uint8_t>(arg - 100 + 8));
        } else {
            switch (arg) {
            case -1:
            case 0: {
                // Faint is not libvterm's: InputFilter follows it.
                const bool faint = attributes.faint;
                pen = Style{};
                attributes.faint = faint;
                break;
            }
            case 1:
                attributes.bold = true;
                break;
            case 2: // faint, which libvterm ignores
                break;
            case 3:
                attributes.italic = true;
                break;
            case 4:
                attributes.underline = Underline::Single;
                break;
            case 5:
                attributes.blink = true;
                break;
            case 7:
                attributes.reverse = true;
                break;
            case 9:
                attributes.strike = true;
                break;
            case 21:
                attributes.underline = Underline::Double;
                break;
            case 22:
                attributes.bold = false;
                break;
            case 23:
                attributes.italic = false;
                break;
            case 24:
                attributes.underline = Underline::None;
                break;
            case 25:
                attributes.blink = false;
                break;
            case 27:
                attributes.reverse = false;
                break;
            case 29:
                attributes.strike = false;
                break;
            case 38:
                if (!colour(i, pen.foreground)) {
                    return false;
                }
                break;
            case 39:
                pen.foreground = Color();
                break;
            case 48:
                if (!colour(i, pen.background)) {
                    return false;
                }
                break;
            case 49:
                pen.background = Color();
                break;
            default:
                return false;
            }
        }
    }
    pen_ = pen;
    return true;
}

void Screen::settle_pen() {
    // Mostly it is the pen libvterm already has: apply_sgr changed nothing
    // since, or colours were reset at the end of a line of coloured output
    // as they were at the line end before. (libvterm has no faint; the
    // input filter keeps it.)
    Style wanted = pen_;
    wanted.attributes.faint = false;
    if (wanted == libvterm_pen_) {
        return;
    }
    // Every attribute apply_sgr sets, on or off, so that what it does not
    // set (conceal, the font) stays as libvterm has it; the colours in a
    // sequence of their own, since two 24-bit colours and a curly
    // underline would pass libvterm's 16 parameters.
    const Attributes& a = pen_.attributes;
    std::string sgr = "\x1b[";
    sgr += a.bold ? "1" : "22";
    sgr += a.italic ? ";3" : ";23";
    sgr += a.underline == Underline::Single   ? ";4"
           : a.underline == Underline::Double ? ";21"
           : a.underline == Underline::Curly  ? ";4:3"
                                              : ";24";
    sgr += a.blink ? ";5" : ";25";
    sgr += a.reverse ? ";7" : ";27";
    sgr += a.strike ? ";9m\x1b[" : ";29m\x1b[";
    const auto colour = [&](int base, const Color& color) {
        switch (color.kind()) {
        case Color::Kind::Default:
            sgr += std::to_string(base + 1);
            break;
        case Color::Kind::Indexed:
            sgr += fmt::format("{};5;{}", base, color.index());
            break;
        case Color::Kind::Rgb:
            sgr += fmt::format("{};2;{};{};{}", base, color.rgb().red, color.rgb().green,
                               color.rgb().blue);
            break;
        }
    };
    colour(38, pen_.foreground);
    sgr += ';';
    colour(48, pen_.background);
    sgr += 'm';
    vterm_input_write(vt_.get(), sgr.data(), sgr.size());
}

// Takes libvterm's cursor as the direct cursor if no line end can be
// pending there: left of the last column, or right after a glyph libvterm
// just printed.
void Screen::direct_cursor_from_libvterm(DirectCursor& direct, bool after_glyph) {
    VTermPos pos;
    vterm_state_get_cursorpos(state_, &pos);
    const bool at_glyph = after_glyph && pos.row == last_glyph_row_;
    // Right after a narrow glyph libvterm printed in the last column, a
    // line end is pending exactly when autowrap is on (libvterm 0.1.4 keeps
    // every row at the screen's width: see print_text).
    const bool phantom = at_glyph && pos.col == cols() - 1 && last_glyph_col_ == pos.col &&
                         last_glyph_width_ == 1 && filter_.autowrap();
    const bool known = after_glyph ? (at_glyph && pos.col == last_glyph_col_ + 1) || phantom
                                   : pos.col < cols() - 1;
    // libvterm 0.1.4 can leave its cursor off the screen (a saved cursor
    // restored after a resize); it is left to libvterm then.
    const bool on_screen = pos.row >= 0 && pos.row < rows() && pos.col >= 0 && pos.col < cols();
    direct = DirectCursor{.active = known && on_screen,
                          .row = pos.row,
                          .col = pos.col,
                          .phantom = phantom,
                          .libvterm_row = pos.row,
                          .libvterm_col = pos.col};
}

bool Screen::direct_line_feed(DirectCursor& direct) {
    if (!direct.active || !region_.known || region_.margins_epoch != filter_.margins_epoch()) {
        return false;
    }
    // What libvterm's linefeed() does; a pending line end stays unless the
    // cursor moves.
    if (direct.row == region_.bottom - 1) {
        scroll_rows_up(region_.top, region_.bottom, 1);
        direct.glyph_scrolled = true;
    } else if (direct.row < rows() - 1) {
        ++direct.row;
        direct.phantom = false;
    }
    return true;
}

void Screen::libvterm_line_feed(DirectCursor& direct) {
    sync_libvterm(direct);
    const bool was_active = direct.active;
    const bool was_phantom = direct.phantom;
    watching_scroll_ = true;
    vterm_input_write(vt_.get(), "\n", 1);
    watching_scroll_ = false;
    // A line feed that does not move the cursor leaves a pending line end
    // as it was: none if there was none.
    VTermPos pos;
    vterm_state_get_cursorpos(state_, &pos);
    const bool moved = pos.row != direct.libvterm_row || pos.col != direct.libvterm_col;
    direct_cursor_from_libvterm(direct, false);
    direct.active = direct.active || was_active || moved;
    if (was_active && !moved) {
        direct.phantom = was_phantom;
    }
}

// Brings libvterm's cursor, and the glyph it would combine a mark with or
// repeat, to where the direct cursor left them.
void Screen::sync_libvterm(DirectCursor& direct) {
    if (!direct.active) {
        return;
    }
    std::array<char, 64> buffer; // NOLINT: written before it is read
    char* out = buffer.data();
    if (direct.glyph_pending) {
        const bool right_after = !direct.glyph_scrolled && direct.row == direct.glyph_row &&
                                 direct.col == direct.glyph_col + 1 &&
                                 direct.libvterm_row == direct.glyph_row &&
                                 direct.libvterm_col <= direct.glyph_col;
        // libvterm prints the glyph again, without touching the rows (the
        // pen may have changed since it was written): where it is, with its
        // cursor ending up where ours is, in the common case, the end of a
        // line of text; otherwise (the line ended since, and may have
        // scrolled) where it was printed, in libvterm's own coordinates,
        // and then it moves the cursor.
        if (direct.phantom) {
            // With a line end pending the glyph is under the cursor, in the
            // last column (a line feed keeps a line end pending only when it
            // leaves the cursor where it is): printed there again, it leaves
            // libvterm's line end pending too.
            out = append_csi(out, direct.row + 1, direct.col + 1, 'H');
            *out++ = direct.glyph;
        } else if (right_after) {
            if (direct.glyph_col > direct.libvterm_col) {
                out = append_csi(out, direct.glyph_col - direct.libvterm_col, -1, 'C');
            }
            *out++ = direct.glyph;
        } else {
            out = append_csi(out, direct.glyph_row + 1, direct.glyph_col + 1, 'H');
            *out++ = direct.glyph;
            out = append_csi(out, direct.row + 1, direct.col + 1, 'H');
        }
        write_muted(std::string_view(buffer.data(), static_cast<std::size_t>(out - buffer.data())));
        show_cursor_at(direct.row, direct.col);
    } else if (direct.row != direct.libvterm_row || direct.col != direct.libvterm_col) {
        out = append_csi(out, direct.row + 1, direct.col + 1, 'H');
        vterm_input_write(vt_.get(), buffer.data(), static_cast<std::size_t>(out - buffer.data()));
    }
    direct.glyph_pending = false;
    direct.libvterm_row = direct.row;
    direct.libvterm_col = direct.col;
}

void Screen::write_muted(std::string_view bytes) {
    muted_ = true;
    vterm_input_write(vt_.get(), bytes.data(), bytes.size());
    muted_ = false;
}

// Whole rows scrolled up inside [top, bottom). The ring moves rows, not
// cells. Lines leaving the top of the primary screen go to the scrollback,
// as in xterm, even when a scroll region keeps a status line at the bottom.
void Screen::scroll_rows_up(int top, int bottom, int count) {
    const bool keep = top == 0 && active_ == &primary_ && scrollback_.capacity() > 0;
    active_->scroll_up(top, bottom, count, pen_,
                       keep ? RowRing::Leaving([this](const Row& row) { scrollback_.push(row); })
                            : RowRing::Leaving());
    damage(top, bottom);
}

// Printable ASCII through libvterm, with the columns that cannot wrap
// written straight into the row: libvterm sees the first character, which
// may wrap a line end left pending by the glyph before it; the character in
// the last column, which leaves a line end pending; and the last of the
// run, which a following combining mark or REP refers to; and a CUF for
// the columns between.
void Screen::print_plain(std::string_view printable) {
    // Fewer characters than this are cheaper through libvterm than a CUF.
    constexpr std::size_t kMinDirect = 4;
    VTerm* vt = vt_.get();
    std::size_t through_libvterm = 1;
    while (!printable.empty()) {
        if (through_libvterm > 0) {
            const std::size_t count = std::min(through_libvterm, printable.size());
            vterm_input_write(vt, printable.data(), count);
            printable.remove_prefix(count);
            through_libvterm = 0;
            continue;
        }
        // Every glyph since the first was narrow, so a line end is pending
        // only with the cursor in the last column.
        VTermPos pos;
        vterm_state_get_cursorpos(state_, &pos);
        if (vterm_state_get_lineinfo(state_, pos.row)->doublewidth != 0) {
            through_libvterm = printable.size();
            continue;
        }
        // Columns before the last: a character there neither wraps nor
        // leaves a line end pending. The run's last character stays for
        // libvterm.
        const auto room = static_cast<std::size_t>(std::max(cols() - 1 - pos.col, 0));
        const std::size_t direct = std::min(room, printable.size() - 1);
        if (direct < kMinDirect) {
            // Up to the last column; at the last column, the wrap and a few
            // more (or, without autowrap, the overwrites of the last column).
            through_libvterm = room == 0 ? kMinDirect : direct + 1;
            continue;
        }
        active_->row(pos.row).put_text(pos.col, printable.substr(0, direct), pen_);
        damage_row(pos.row);
        fast_text_chars_ += direct;
        // libvterm's cursor moves past them, and it prints the next one.
        std::array<char, 24> move; // NOLINT: written before it is read
        char* const end = append_csi(move.data(), static_cast<int>(direct), -1, 'C');
        *end = printable[direct];
        vterm_input_write(vt, move.data(), static_cast<std::size_t>(end + 1 - move.data()));
        printable.remove_prefix(direct + 1);
    }
}

void Screen::set_reply_handler(ReplyHandler handler) {
    reply_handler_ = std::move(handler);
}

void Screen::reply(std::string_view bytes) const {
    if (reply_handler_) {
        reply_handler_(bytes);
    }
}

void Screen::resize(int rows, int cols) {
    rows = clamp_rows(rows);
    cols = clamp_cols(cols);
    if (rows == this->rows() && cols == this->cols()) {
        return;
    }
    settle();
    vterm_set_size(vt_.get(), rows, cols);
    region_.known = false;
    VTermPos pos;
    vterm_state_get_cursorpos(state_, &pos);
    cursor_.row = std::clamp(pos.row, 0, rows - 1);
    cursor_.col = std::clamp(pos.col, 0, cols - 1);
}

int Screen::rows() const {
    return active_->rows();
}

int Screen::cols() const {
    return active_->cols();
}

void Screen::resize_buffer(RowRing& buffer, int rows, int cols, bool active, int& removed_top) {
    const int excess = buffer.rows() - rows;
    if (excess > 0) {
        // Rows that must stay: up to the cursor, or for the inactive buffer up
        // to its last row with content.
        int keep = active ? cursor_.row : 0;
        if (!active) {
            for (int row = buffer.rows() - 1; row > 0; --row) {
                if (!buffer.row(row).empty()) {
                    keep = row;
                    break;
                }
            }
        }
        int from_bottom = 0;
        while (from_bottom < excess && buffer.rows() - 1 - from_bottom > keep &&
               buffer.row(buffer.rows() - 1 - from_bottom).empty()) {
            ++from_bottom;
        }
        buffer.remove_bottom(from_bottom);
        int from_top = excess - from_bottom;
        if (active && from_top > keep) {
            // No higher than the cursor's row may go, or the cursor would
            // leave the screen (libvterm would then read above its line
            // table): the rest goes from the bottom, content or not, as in
            // tmux.
            buffer.remove_bottom(from_top - keep);
            from_top = keep;
        }
        const bool keep_lines = &buffer == &primary_ && scrollback_.capacity() > 0;
        buffer.remove_top(from_top, keep_lines ? RowRing::Leaving([this](const Row& row) {
                              scrollback_.push(row);
                          })
                                               : RowRing::Leaving());
        if (active) {
            removed_top = from_top;
        }
    } else if (excess < 0) {
        buffer.add_bottom(-excess);
    }
    buffer.resize_cols(cols);
}

void Screen::switch_buffer(bool alternate) {
    if (alternate && !alternate_) {
        alternate_ = std::make_unique<RowRing>(primary_.rows(), primary_.cols());
    }
    RowRing* target = alternate ? alternate_.get() : &primary_;
    if (target != active_) {
        active_ = target;
        // Each screen has its own kitty keyboard flags.
        if (alternate) {
            kitty_keyboard_.enter_alternate_screen();
        }
        modes_.kitty_keyboard_flags = kitty_keyboard_.flags(alternate);
        damage_all();
    }
}

std::vector<std::string> Screen::visible_lines() const {
    std::vector<std::string> lines;
    lines.reserve(static_cast<std::size_t>(rows()));
    for (int row = 0; row < rows(); ++row) {
        lines.push_back(plain_text(active_->row(row)));
    }
    return lines;
}

std::string Screen::row_text(int row) const {
    if (row < 0 || row >= rows()) {
        return {};
    }
    return plain_text(active_->row(row));
}

std::vector<std::string> Screen::scrollback_lines(int last_n) const {
    const std::size_t count =
        std::min(scrollback_.size(), static_cast<std::size_t>(std::max(last_n, 0)));
    std::vector<std::string> lines;
    lines.reserve(count);
    for (std::size_t i = scrollback_.size() - count; i < scrollback_.size(); ++i) {
        lines.push_back(plain_text(scrollback_.line(i).expand()));
    }
    return lines;
}

std::string Screen::text(int scrollback_lines) const {
    auto lines = this->scrollback_lines(scrollback_lines);
    auto screen = visible_lines();
    while (!screen.empty() && screen.back().empty()) {
        screen.pop_back();
    }
    lines.insert(lines.end(), std::make_move_iterator(screen.begin()),
                 std::make_move_iterator(screen.end()));
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i > 0) {
            out += '\n';
        }
        out += lines[i];
    }
    return out;
}

std::string Screen::render_ansi(const AnsiOptions& options) const {
    const std::string_view line_end = options.replay ? "\r\n" : "\n";
    std::string out;
    const std::size_t count = std::min(
        scrollback_.size(), static_cast<std::size_t>(std::max(options.scrollback_lines, 0)));
    for (std::size_t i = scrollback_.size() - count; i < scrollback_.size(); ++i) {
        append_ansi(out, scrollback_.line(i).expand());
        out += line_end;
    }
    int last = rows() - 1;
    if (!options.replay) {
        while (last >= 0 && active_->row(last).empty()) {
            --last;
        }
    }
    for (int row = 0; row <= last; ++row) {
        append_ansi(out, active_->row(row));
        // In a replay a line end after the last row would scroll the screen.
        if (!options.replay || row < last) {
            out += line_end;
        }
    }
    if (options.replay) {
        out += fmt::format("\x1b[{};{}H", cursor_.row + 1, cursor_.col + 1);
        if (!cursor_.visible) {
            out += "\x1b[?25l";
        }
    }
    return out;
}

std::string Screen::render_row_ansi(int row) const {
    std::string out;
    if (row >= 0 && row < rows()) {
        append_ansi(out, active_->row(row));
    }
    return out;
}

CellView Screen::cell(int row, int col) const {
    if (row < 0 || row >= rows() || col < 0 || col >= cols()) {
        return CellView();
    }
    return active_->row(row).view(col);
}

const Row& Screen::screen_row(int row) const {
    return active_->row(row);
}

void Screen::damage(int first, int last_exclusive) {
    ++generation_;
    if (all_damaged_) {
        return;
    }
    first = std::max(first, 0);
    last_exclusive = std::min(last_exclusive, rows());
    if (first == 0 && last_exclusive == rows()) {
        all_damaged_ = true;
        return;
    }
    for (int row = first; row < last_exclusive; ++row) {
        damaged_[static_cast<std::size_t>(row)] = 1;
    }
    if (first < last_exclusive) {
        damage_first_ = damage_first_ < 0 ? first : std::min(damage_first_, first);
        damage_last_ = std::max(damage_last_, last_exclusive - 1);
    }
}

void Screen::damage_all() {
    ++generation_;
    all_damaged_ = true;
}

std::optional<RowRange> Screen::damaged_rows() const {
    if (all_damaged_) {
        return RowRange{0, rows() - 1};
    }
    if (damage_first_ < 0) {
        return std::nullopt;
    }
    return RowRange{damage_first_, damage_last_};
}

bool Screen::row_damaged(int row) const {
    if (row < 0 || row >= rows()) {
        return false;
    }
    return all_damaged_ || damaged_[static_cast<std::size_t>(row)] != 0;
}

void Screen::clear_damage() {
    if (damage_first_ >= 0) {
        std::fill(damaged_.begin() + damage_first_, damaged_.begin() + damage_last_ + 1, 0);
    }
    damage_first_ = -1;
    damage_last_ = -1;
    all_damaged_ = false;
}

void Screen::FilterSink::forward(std::string_view bytes) {
    screen_.settle();
    vterm_input_write(screen_.vt_.get(), bytes.data(), bytes.size());
}

bool Screen::FilterSink::sgr(std::string_view params) {
    return screen_.fast_text_ && screen_.apply_sgr(params);
}

void Screen::FilterSink::text(std::string_view printable) {
    if (screen_.fast_text_) {
        screen_.print_text(printable);
    } else {
        forward(printable);
    }
}

void Screen::FilterSink::private_mode(int mode, bool enabled) {
    screen_.modes_.set_private_mode(mode, enabled);
    ++screen_.generation_;
}

void Screen::FilterSink::keypad_mode(bool application) {
    screen_.modes_.application_keypad = application;
    ++screen_.generation_;
}

void Screen::FilterSink::reset(bool hard) {
    // libvterm 0.1.4 resets its own modes but reports neither them nor the
    // return to the primary screen that a full reset (RIS) means. The
    // keyboard protocols are reset by both, like the other key modes.
    screen_.modes_ = Modes();
    screen_.kitty_keyboard_.reset();
    if (hard) {
        screen_.switch_buffer(false);
        screen_.reverse_video_ = false;
    }
    ++screen_.generation_;
}

void Screen::FilterSink::kitty_keyboard(const KittyKeyboardRequest& request) {
    const bool alternate = screen_.alternate_screen();
    if (request.kind == KittyKeyboardRequest::Kind::Query) {
        screen_.reply(fmt::format("\x1b[?{}u", screen_.kitty_keyboard_.flags(alternate)));
        return;
    }
    screen_.kitty_keyboard_.apply(request, alternate);
    screen_.modes_.kitty_keyboard_flags = screen_.kitty_keyboard_.flags(alternate);
    ++screen_.generation_;
}

void Screen::FilterSink::modify_other_keys(int level) {
    screen_.modes_.modify_other_keys = level;
    ++screen_.generation_;
}

void Screen::FilterSink::faint(bool on) {
    screen_.pen_.attributes.faint = on;
}

void Screen::FilterSink::query_modify_other_keys() {
    screen_.reply(fmt::format("\x1b[>4;{}m", screen_.modes_.modify_other_keys));
}

void Screen::FilterSink::erase_scrollback() {
    screen_.scrollback_.clear();
    ++screen_.generation_;
}

} // namespace sb::term
