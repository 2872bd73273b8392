#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/key_encoding.hpp"

namespace sb::client::attach {

// One thing the person's terminal sent.
struct InputEvent {
    enum class Kind { Bytes, CursorKey, KeypadKey, Key, Paste, Mouse, FocusIn, FocusOut };
    Kind kind = Kind::Bytes;
    // Bytes: as received (text, control keys, sequences passed through);
    // Paste: the pasted text without its brackets.
    std::string bytes;
    // CursorKey: 'A' 'B' 'C' 'D' (arrows), 'H' (Home), 'F' (End), and the
    // xterm modifier parameter (1 for none, 5 for Ctrl, ...).
    // KeypadKey: the final character of its SS3 sequence (ESC O p for 0).
    // Key: a key whose modifiers the terminal told (kitty's `CSI code ;
    // modifier u`, xterm's modifyOtherKeys `CSI 27 ; modifier ; code ~`), an
    // Alt chord (ESC then the key) or a lone Escape. `code` is the key's
    // Unicode code point, lower case for letters (Enter 13, Tab 9, Backspace
    // 127, Escape 27), `shifted` what it types with Shift when known (0
    // otherwise), and `modifier` as for cursor keys: 1 plus the bits of
    // KeyModifier.
    char key = 0;
    int modifier = 1;
    char32_t code = 0;
    char32_t shifted = 0;
    // Mouse, from the SGR form (CSI < b ; x ; y M/m): button code with
    // modifier and motion bits, 1-based cell, release or press.
    int button = 0;
    int col = 0;
    int row = 0;
    bool release = false;

    bool operator==(const InputEvent&) const = default;
};

// The bits of a key's modifier parameter (kShift, kAlt, kCtrl...).
using util::KeyModifier;
using enum util::KeyModifier;

// Splits what the person's terminal sends into events. The attach client
// keeps that terminal in its normal modes (cursor keys as CSI, SGR mouse,
// bracketed paste, focus reports on) and asks it to report modified keys
// unambiguously (kitty's flags 1 and 4, xterm's modifyOtherKeys 2), so that
// what a key means is known before it is encoded again for the worker's own
// modes. A terminal that knows neither sends legacy bytes, which are taken
// as they come (an Alt chord and a lone Escape become Key events).
class InputParser {
public:
    // Events for the bytes; an unfinished escape sequence at the end is kept
    // for the next call (or for flush()).
    std::vector<InputEvent> feed(std::string_view bytes);
    // The kept bytes as they are: a lone Escape key once no more followed.
    std::vector<InputEvent> flush();
    bool pending() const { return !partial_.empty() && !in_paste_; }

private:
    std::string partial_;
    bool in_paste_ = false;
    std::string paste_;
};

// The input modes of the worker a key is for (attach's "screen" frames).
struct WorkerModes {
    bool application_cursor_keys = false;
    bool application_keypad = false;
    bool bracketed_paste = false;
    bool focus_reporting = false;
    std::string mouse = "none";             // none, click, drag, motion
    std::string mouse_encoding = "default"; // default, utf8, sgr, urxvt
    // The kitty keyboard protocol's flags (only 1, disambiguate, is ever
    // set) and xterm's modifyOtherKeys level (0, 1 or 2).
    int kitty_keyboard_flags = 0;
    int modify_other_keys = 0;

    bool operator==(const WorkerModes&) const = default;
};

// A Key event as the worker expects it: kitty's `CSI code ; modifier u` for
// the keys flag 1 (disambiguate) covers when the worker set it (Escape, and
// any key with a modifier other than Shift; Enter, Tab and Backspace only
// with a modifier); otherwise xterm's `CSI 27 ; modifier ; code ~` when the
// worker set modifyOtherKeys 2 (any modified key but Shift with a
// character) or 1 (only those without a legacy encoding, Ctrl+Enter say);
// otherwise legacy bytes: Ctrl with a letter or @[\]^_ the control byte,
// Alt an ESC before the key, Shift the shifted character, Shift+Tab `CSI Z`,
// and modifiers a legacy key cannot carry (Shift+Enter) dropped.
std::string encode_key(const InputEvent& key, const WorkerModes& modes);
// A cursor key as the worker expects it: SS3 (ESC O A) in application cursor
// mode when unmodified, CSI otherwise.
std::string encode_cursor_key(char key, int modifier, const WorkerModes& modes);
// A keypad key (the client keeps the person's keypad in application mode so
// that keypad keys can be told apart): its SS3 sequence for a worker in
// application keypad mode, otherwise the character it is labelled with.
std::string encode_keypad_key(char key, const WorkerModes& modes);
// A paste: bracketed when the worker enabled bracketed paste, with any end
// marker inside taken out so the text cannot end it early.
std::string encode_paste(std::string_view text, const WorkerModes& modes);
// A mouse event at a cell of the worker's pane (1-based), in the worker's
// encoding; empty when the worker did not ask for this kind of event or the
// cell cannot be expressed in its encoding.
std::string encode_mouse(const InputEvent& event, int col, int row, const WorkerModes& modes);

} // namespace sb::client::attach
