#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "term/cell.hpp"
#include "term/input_filter.hpp"
#include "term/kitty_keyboard.hpp"
#include "term/modes.hpp"
#include "term/query_replies.hpp"
#include "term/row_ring.hpp"
#include "term/scrollback.hpp"

struct VTerm;
struct VTermState;

namespace sb::term {

enum class CursorShape { Block, Underline, Bar };

struct Cursor {
    int row = 0;
    int col = 0;
    bool visible = true;
    CursorShape shape = CursorShape::Block;
    bool blink = true;

    bool operator==(const Cursor&) const = default;
};

// Rows [first, last] changed since damage was last cleared.
struct RowRange {
    int first = 0;
    int last = 0;

    bool operator==(const RowRange&) const = default;
};

struct AnsiOptions {
    // How many of the newest scrollback lines come before the screen.
    int scrollback_lines = 0;
    // Replay: every screen row is written, lines end with CR LF, and the
    // cursor's position and visibility come last, so that writing the result
    // to an empty terminal of the same size (cursor at the top left)
    // reproduces the screen. Otherwise (capture, like `tmux capture-pane -e
    // -p`) lines end with LF and trailing empty rows are left out.
    bool replay = false;
};

struct ScreenOptions {
    int rows = 24;
    int cols = 80;
    int scrollback_lines = 10000;
    ReportedColors colors;
    // Print runs of plain ASCII text straight into the rows rather than one
    // character at a time through libvterm (see Screen::print_text). Off
    // only to check the fast path against libvterm's own printing (tests,
    // bench/screen_feed).
    bool fast_text = true;
};

// The screen model of one worker's terminal: every byte the worker prints is
// fed through libvterm's parser (behind InputFilter), and the result is kept
// here in compact rows rather than libvterm's VTermScreen, whose 40-byte cells
// and buffer moves on every scrolled line made it the bottleneck.
//
// Not copyable or movable: libvterm holds a pointer to it.
class Screen {
public:
    using ReplyHandler = std::function<void(std::string_view)>;

    Screen(int rows, int cols, int scrollback_lines);
    explicit Screen(const ScreenOptions& options);
    ~Screen();
    Screen(const Screen&) = delete;
    Screen& operator=(const Screen&) = delete;

    // Parses output of the application. Sequences and code points may be
    // split across calls anywhere.
    void feed(std::string_view bytes);

    // Receives the answers to terminal queries (DA, CPR, OSC 10/11, XTVERSION,
    // ...), which the owner writes back to the application; without a
    // handler they are dropped.
    void set_reply_handler(ReplyHandler handler);
    void set_reported_colors(const ReportedColors& colors) { colors_ = colors; }

    // Changes the size without reflowing: rows leave from the bottom while
    // they are empty and below the cursor, then from the top (into the
    // scrollback); columns are cut or added on the right.
    void resize(int rows, int cols);
    int rows() const;
    int cols() const;

    // Text of the visible screen, one string per row (see plain_text).
    std::vector<std::string> visible_lines() const;
    std::string row_text(int row) const;
    // The newest `scrollback_lines` lines of scrollback then the screen, joined
    // by '\n' without a final one. Trailing empty screen rows are left out, so
    // a mostly empty screen does not end in a run of blank lines.
    std::string text(int scrollback_lines = 0) const;
    // The newest `last_n` scrollback lines, oldest first.
    std::vector<std::string> scrollback_lines(int last_n) const;
    std::size_t scrollback_size() const { return scrollback_.size(); }
    // Approximate bytes the scrollback holds.
    std::size_t scrollback_memory() const { return scrollback_.memory_bytes(); }
    // A scrollback line as a row of cells, 0 being the oldest kept.
    Row scrollback_row(std::size_t index) const { return scrollback_.line(index).expand(); }

    std::string render_ansi(const AnsiOptions& options = {}) const;
    // One visible row with SGR sequences (see append_ansi).
    std::string render_row_ansi(int row) const;

    CellView cell(int row, int col) const;
    // A row of the screen in use (0 the top); `row` must be on the screen.
    const Row& screen_row(int row) const;

    Cursor cursor() const { return cursor_; }
    // The style the next printed character gets (the current SGR state).
    const Style& pen() const { return pen_; }
    bool alternate_screen() const { return active_ != &primary_; }
    const Modes& modes() const { return modes_; }
    bool bracketed_paste() const { return modes_.bracketed_paste; }
    bool focus_reporting() const { return modes_.focus_reporting; }
    bool application_cursor_keys() const { return modes_.application_cursor_keys; }
    MouseTracking mouse_tracking() const { return modes_.mouse_tracking; }
    MouseEncoding mouse_encoding() const { return modes_.mouse_encoding; }
    // Reverse video for the whole screen (DECSCNM).
    bool reverse_video() const { return reverse_video_; }
    // The window title (OSC 0 or 2) as valid UTF-8 without controls.
    const std::string& title() const { return title_; }
    // Characters the fast path for plain text wrote without libvterm's
    // parser; for tests and benchmarks.
    std::uint64_t fast_text_chars() const { return fast_text_chars_; }
    // Bytes held between feeds for an unfinished sequence; bounded.
    std::size_t buffered_bytes() const { return filter_.buffered_bytes(); }

    // Grows whenever anything visible changes: cells, cursor, title, modes.
    std::uint64_t generation() const { return generation_; }
    // Which rows changed since clear_damage(). A change of size or buffer
    // (alternate screen) damages every row.
    std::optional<RowRange> damaged_rows() const;
    bool row_damaged(int row) const;
    void clear_damage();

private:
    friend struct VTermGlue;

    // What InputFilter reports, applied to this screen.
    class FilterSink final : public InputFilter::Sink {
    public:
        explicit FilterSink(Screen& screen) : screen_(screen) {}
        void forward(std::string_view bytes) override;
        void text(std::string_view printable) override;
        void private_mode(int mode, bool enabled) override;
        void keypad_mode(bool application) override;
        void reset(bool hard) override;
        void erase_scrollback() override;
        void kitty_keyboard(const KittyKeyboardRequest& request) override;
        void modify_other_keys(int level) override;
        void query_modify_other_keys() override;
        void faint(bool on) override;
        bool sgr(std::string_view params) override;

    private:
        Screen& screen_;
    };

    struct VTermDeleter {
        void operator()(VTerm* vt) const;
    };

    // Where the fast path for text has taken the cursor, while libvterm's
    // cursor may still be elsewhere (see print_text).
    struct DirectCursor {
        // Whether row, col and phantom are known to be libvterm's cursor.
        bool active = false;
        int row = 0;
        int col = 0;
        // A line end is pending (libvterm's "phantom" column): a glyph was
        // printed in the last column with autowrap on, and the next one
        // goes to the start of the next line. Only with col the last column.
        bool phantom = false;
        // Where libvterm's own cursor is.
        int libvterm_row = 0;
        int libvterm_col = 0;
        // The last character written without libvterm, at glyph_row and
        // glyph_col, which libvterm must still be told of: a combining mark
        // or REP (CSI b) after it refers to it.
        bool glyph_pending = false;
        // Whether the rows scrolled since it was written: it is no longer
        // where it was printed, even with the cursor right after that place.
        bool glyph_scrolled = false;
        char glyph = 0;
        int glyph_row = 0;
        int glyph_col = 0;
    };
    // The scrolling region libvterm scrolled when it last got a line feed
    // from print_text, and whether it is still valid.
    struct LearntRegion {
        bool known = false;
        int top = 0;
        int bottom = 0;
        std::uint64_t margins_epoch = 0;
    };

    void reply(std::string_view bytes) const;
    // The fast path for SGR: applies `params` (between CSI and m) to the pen
    // as libvterm 0.1.4 would, without its parser; false, having done
    // nothing, for a sequence that is not plainly one of the attributes
    // and colours below, which libvterm then parses.
    bool apply_sgr(std::string_view params);
    // Gives libvterm's own pen what apply_sgr left out, before libvterm
    // parses anything else (it saves its pen with the cursor and reports
    // it in DECRQSS).
    void settle_pen();
    // The cursor shown moves to where libvterm's will be (the direct cursor).
    void show_cursor_at(int row, int col);
    // Brings libvterm up to date with what the fast paths did without it
    // (the direct cursor, the pen), before it parses anything else.
    void settle();
    void print_text(std::string_view text);
    void print_plain(std::string_view printable);
    void direct_cursor_from_libvterm(DirectCursor& direct, bool after_glyph);
    // libvterm's line feed (also the one before a wrapped glyph) done to the
    // direct cursor and the rows: false, having done nothing, while the
    // scrolling region is not known; libvterm_line_feed then passes it to
    // libvterm, which may show where the region is.
    bool direct_line_feed(DirectCursor& direct);
    void libvterm_line_feed(DirectCursor& direct);
    void sync_libvterm(DirectCursor& direct);
    void write_muted(std::string_view bytes);
    void scroll_rows_up(int top, int bottom, int count);
    void damage(int first, int last_exclusive);
    // damage() of one row, cheap when the row is already damaged.
    void damage_row(int row) {
        if (all_damaged_ || damaged_[static_cast<std::size_t>(row)] != 0) {
            ++generation_;
            return;
        }
        damage(row, row + 1);
    }
    void damage_all();
    void switch_buffer(bool alternate);
    void resize_buffer(RowRing& buffer, int rows, int cols, bool active, int& removed_top);

    ReportedColors colors_;
    RowRing primary_;
    // Made when a program first switches to the alternate screen: most
    // workers never do, and its rows would cost each of them over 1 KiB.
    std::unique_ptr<RowRing> alternate_;
    RowRing* active_;
    Scrollback scrollback_;
    Style pen_;
    // libvterm's own pen as its callbacks report it (without faint, which
    // it lacks), so that settle_pen tells it only a pen it does not have
    // (apply_sgr changes pen_ without libvterm).
    Style libvterm_pen_;
    Cursor cursor_;
    Modes modes_;
    KittyKeyboard kitty_keyboard_;
    bool reverse_video_ = false;
    bool fast_text_ = true;
    std::uint64_t fast_text_chars_ = 0;
    // Set while print_text brings libvterm's state up to date with cells
    // already written: libvterm's glyphs and cursor moves are not ours to apply.
    bool muted_ = false;
    // Where libvterm printed its last glyph (putglyph).
    int last_glyph_row_ = -1;
    int last_glyph_col_ = -1;
    int last_glyph_width_ = 0;
    // Set while print_text passes a line feed to libvterm, to learn the
    // scrolling region from the scroll it causes.
    bool watching_scroll_ = false;
    LearntRegion region_;
    // The fast path's cursor, which stays active from one run of text to
    // the next while libvterm is given nothing else (see print_text).
    DirectCursor direct_;
    std::string title_;
    ReplyHandler reply_handler_;

    std::vector<std::uint8_t> damaged_;
    bool all_damaged_ = true;
    int damage_first_ = -1;
    int damage_last_ = -1;
    std::uint64_t generation_ = 0;

    FilterSink sink_{*this};
    InputFilter filter_{sink_};
    std::unique_ptr<VTerm, VTermDeleter> vt_;
    VTermState* state_ = nullptr;
};

} // namespace sb::term
