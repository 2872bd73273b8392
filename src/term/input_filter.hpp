#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "term/kitty_keyboard.hpp"

namespace sb::term {

// Sits between a worker's output and libvterm's parser. It follows libvterm
// 0.1.4's parser state machine byte for byte, so it knows where every escape
// sequence starts and ends, and uses that to:
//
// - keep memory and time bounded whatever a program prints: libvterm 0.1.4
//   writes past its 16-entry argument array on a CSI with more separators
//   (the sequence is dropped here instead), copies a whole OSC onto the
//   stack for a title, sizes stack arrays by the length of each write (so
//   text is handed over in chunks of a few KiB), and grows a buffer without
//   limit for combining marks stacked on one glyph (runs past
//   kMaxCombiningRun are dropped), and loops forever on a REP (CSI b) that
//   repeats a glyph of no width (see repeat_safe_); an OSC or DCS string longer than
//   kMaxString is dropped whole, and APC, PM and SOS strings are swallowed
//   rather than shown as text;
// - hand each OSC and DCS string over in one write, so that libvterm sees it
//   whole rather than cut to its 64-byte buffer when it spans two reads;
// - split a DECSET/DECRST with several modes into one sequence per mode,
//   since libvterm 0.1.4 acts on the first only;
// - report what libvterm keeps to itself (private modes, keypad mode, resets,
//   erase of the scrollback) to its Sink, in stream order;
// - take the keyboard protocol requests libvterm 0.1.4 does not know (kitty's
//   `CSI > flags u` and its kin, xterm's modifyOtherKeys) out of the stream
//   and report them to its Sink instead;
// - drop S8C1T, so that libvterm's replies stay 7-bit and valid UTF-8;
// - erase the screen on DECCOLM as a VT100 does (libvterm ignores it);
// - restore the character sets on DECRC as a VT100 does (libvterm 0.1.4
//   restores only the position and the pen);
// - follow faint (SGR 2), which libvterm 0.1.4's pen lacks, and report it to
//   its Sink, saved and restored with the cursor;
// - offer each SGR to its Sink, which may apply it without libvterm's
//   parser, and leave out a colour (38 or 48) that ends an SGR with nothing
//   after it, whose palette libvterm 0.1.4 would read from past the
//   parameters (what an earlier CSI left there).
class InputFilter {
public:
    class Sink {
    public:
        // Bytes for libvterm, in order.
        virtual void forward(std::string_view bytes) = 0;
        // A run of printable ASCII, CR and LF for libvterm, in order with
        // forward(): at least kMinTextRun bytes, or a shorter one with
        // nothing waiting to be forwarded before it (text between SGR the
        // sink applied itself) and no UTF-8 right after it. Given when
        // libvterm would print the text as it is and move the cursor as
        // usual on the line ends: its parser is between sequences, the
        // character set in use maps ASCII to itself, insert mode is off,
        // and LF does not also return the carriage (LNM off); and origin
        // mode is off, so that a cursor movement (CUP, CUF) the sink adds is
        // not held inside the margins. The sink may handle most of it
        // without libvterm's parser (Screen's fast path for plain text).
        virtual void text(std::string_view printable) = 0;
        // `CSI ? mode h` (enabled) or `l`, once per mode.
        virtual void private_mode(int mode, bool enabled) = 0;
        // DECKPAM (ESC =) or DECKPNM (ESC >).
        virtual void keypad_mode(bool application) = 0;
        // RIS (ESC c, hard) or DECSTR (CSI ! p, soft); libvterm resets itself
        // when the sequence is forwarded right after.
        virtual void reset(bool hard) = 0;
        // ED 3 (CSI 3 J), which libvterm 0.1.4 ignores.
        virtual void erase_scrollback() = 0;
        // A kitty keyboard protocol push, pop, set or query; everything
        // before it has been forwarded, so a reply to a query is in order
        // with libvterm's replies.
        virtual void kitty_keyboard(const KittyKeyboardRequest& request) = 0;
        // xterm's modifyOtherKeys level: `CSI > 4 ; level m` (0, 1 or 2),
        // and 0 for `CSI > 4 m`, `CSI > m` (reset) and `CSI > 4 n` (disable).
        virtual void modify_other_keys(int level) = 0;
        // `CSI ? 4 m` (XTQMODKEYS for modifyOtherKeys); everything before it
        // has been forwarded. The other resources are not asked here: only
        // modifyOtherKeys is kept, so nothing else is claimed.
        virtual void query_modify_other_keys() = 0;
        // Faint (SGR 2) set or cleared (SGR 22, SGR 0, DECRC), which
        // libvterm 0.1.4's pen does not have; everything before it has been
        // forwarded, so it applies to the text that follows. A full reset
        // (RIS) clears it without this call: libvterm starts a new pen.
        virtual void faint(bool on) = 0;
        // An SGR, `params` being what comes between CSI and m, which the
        // sink may apply itself rather than have libvterm parse it: true
        // when it did (the sequence is then not forwarded). Everything
        // before it has been forwarded. Faint is left to faint(), which
        // follows when it changes. Asked only with origin mode off: in
        // origin mode libvterm moves the cursor into the margins after
        // every CSI, SGR included.
        virtual bool sgr(std::string_view params) = 0;

    protected:
        ~Sink() = default;
    };

    static constexpr std::size_t kChunk = 4096;
    static constexpr std::size_t kMaxString = 4096;
    static constexpr std::size_t kMaxSequence = 256;
    static constexpr int kMaxCsiSeparators = 15;
    static constexpr int kMaxCombiningRun = 16;
    // Shorter runs of text are forwarded with what surrounds them, unless
    // there is nothing to forward before them: handing them to text() alone
    // would cost more than it saves.
    static constexpr std::size_t kMinTextRun = 8;

    explicit InputFilter(Sink& sink) : sink_(sink) {}

    void feed(std::string_view bytes);

    // Whether the OSC or DCS string being forwarded ended with BEL rather
    // than ST: xterm answers a query with the terminator it came with.
    bool string_ended_with_bel() const { return string_bel_; }

    // Bytes held between feeds (an unfinished sequence or code point); bounded.
    std::size_t buffered_bytes() const { return pending_.size() + out_.size(); }

    // Grows whenever a sequence that may change libvterm's scrolling region
    // or margins (CSI r, CSI s, any mode set or reset, RIS) is passed on, so
    // that the sink knows when what it learnt about them may be stale.
    std::uint64_t margins_epoch() const { return margins_epoch_; }
    // libvterm's autowrap mode (DECAWM, CSI ? 7 h, on from the start and
    // after a full reset), as of the text handed to the sink last.
    bool autowrap() const { return autowrap_; }

private:
    enum class State {
        Normal,
        Escape,
        CsiLeader,
        CsiParams,
        CsiIntermediates,
        String,
        StringEscape
    };
    enum class StringKind { Osc, Dcs, Ignored };

    std::size_t take_text(std::string_view bytes, std::size_t at);
    std::size_t take_string(std::string_view bytes, std::size_t at);
    std::size_t take_csi_params(std::string_view bytes, std::size_t at);
    // Adds bytes to the sequence being collected, or gives the sequence up
    // (it is discarded) when it would grow past `limit`.
    void collect(std::string_view part, std::size_t limit);
    void take_utf8_byte(unsigned char byte);
    void take_sequence_byte(unsigned char byte);

    void begin_escape();
    void begin_string(StringKind kind);
    void append_pending(char byte);
    void abandon();
    void dispatch_escape(unsigned char final);
    void dispatch_csi(unsigned char final);
    // Reports a keyboard protocol request to the sink; false when the CSI is
    // none (it is then forwarded as usual).
    bool dispatch_keyboard_request(std::string_view leader, std::string_view params,
                                   std::string_view intermediates, unsigned char final);
    void finish_string(bool bel);

    void emit(std::string_view bytes);
    void emit_byte(char byte);
    // Forwards everything collected except an unfinished UTF-8 code point,
    // which may still be dropped.
    void flush();

    // What decides whether libvterm prints ASCII as it is, followed from the
    // sequences that change it (see text_is_plain()).
    void note_control(unsigned char byte);
    // What a DECSET or DECRST of `mode` means beyond libvterm's own handling,
    // after the sequence was emitted.
    void after_private_mode(int mode, bool enabled);
    void reset_text_state();
    // DECSC (and ?1048/?1049 set): what libvterm does not save itself.
    void save_cursor();
    // DECRC (and ?1048/?1049 reset): the character sets saved, given to
    // libvterm again, and faint as it was saved.
    void restore_cursor();
    void set_faint(bool faint);
    bool text_is_plain() const {
        return !insert_mode_ && !origin_mode_ && !newline_mode_ &&
               charset_is_ascii_[static_cast<std::size_t>(locking_shift_)];
    }

    Sink& sink_;
    State state_ = State::Normal;
    std::string out_;     // bytes for libvterm not forwarded yet
    std::string pending_; // the escape sequence or string being collected

    // The sequence being collected.
    int intermediates_ = 0;
    int leader_ = 0;
    int separators_ = 0;
    bool discarding_ = false; // too long or too many arguments: drop it when it ends
    StringKind string_kind_ = StringKind::Osc;
    bool string_bel_ = false;

    // The UTF-8 code point being decoded in text, which starts at
    // out_[utf8_start_] and still lacks utf8_remaining_ bytes.
    int utf8_remaining_ = 0;
    char32_t utf8_code_point_ = 0;
    std::size_t utf8_start_ = 0;
    // Combining marks since the last base character.
    int combining_run_ = 0;

    // libvterm's insert mode (IRM, CSI 4 h), whether each of its character
    // sets G0-G3 shows ASCII as ASCII (UTF-8, the default, and US-ASCII do;
    // the DEC graphics and UK sets do not), and which of them a locking shift
    // (SI, SO, LS2, LS3) put in use. A single shift (SS2, SS3) applies to the
    // first character of the next text only, which is then forwarded on its
    // own: libvterm decodes it with the decoder of the shifted set, and the
    // text after it with that of the set in use, which may still hold part of
    // a UTF-8 sequence cut short before. Printable ASCII surely ends a single
    // shift; other text may not (an unfinished code point), so it leaves the
    // flag set.
    bool insert_mode_ = false;
    // Line feed/new line mode (LNM, CSI 20 h), in which LF also returns the carriage.
    bool newline_mode_ = false;
    std::uint64_t margins_epoch_ = 0;
    // Origin mode (DECOM, CSI ? 6 h), in which libvterm keeps the cursor
    // inside the margins after every CSI, the sink's cursor moves included.
    bool origin_mode_ = false;
    bool autowrap_ = true;
    // Whether the last character printed surely has a glyph of one or two
    // columns. libvterm 0.1.4's REP (CSI b) repeats that glyph by adding its
    // width to the cursor until it reaches the count: with nothing printed
    // yet, after a zero-width mark on its own, or after a C1 code point
    // (width -1) it loops forever, so REP is forwarded only when this holds.
    bool repeat_safe_ = false;
    std::array<bool, 4> charset_is_ascii_{true, true, true, true};
    int locking_shift_ = 0;
    // The sets G0-G3 designate ('B' US-ASCII, as libvterm starts, '0' DEC
    // graphics, 'A' UK), and those and the locking shift DECSC saved.
    std::array<char, 4> designations_{'B', 'B', 'B', 'B'};
    std::array<char, 4> saved_designations_{'B', 'B', 'B', 'B'};
    int saved_locking_shift_ = 0;
    bool single_shift_ = false;
    // SGR 2 in force, and as DECSC (or ?1048/?1049) saved it.
    bool faint_ = false;
    bool saved_faint_ = false;
};

} // namespace sb::term
