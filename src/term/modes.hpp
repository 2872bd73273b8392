#pragma once

namespace sb::term {

// Which mouse events the application asked for (DECSET 1000, 1002, 1003).
enum class MouseTracking { None, Click, Drag, Motion };

// How it wants them encoded (DECSET 1005, 1006, 1015; X10-style by default).
enum class MouseEncoding { Default, Utf8, Sgr, Urxvt };

// The input modes an application set that change what its terminal must send
// it: attach encodes keys, pastes, focus changes and mouse events by them, and
// delivery pastes only when bracketed paste is on. libvterm 0.1.4 keeps most
// of these to itself without a getter, so the screen tracks them from the
// DECSET/DECRST sequences InputFilter reports.
struct Modes {
    bool application_cursor_keys = false; // DECCKM, ?1
    bool application_keypad = false;      // DECKPAM (ESC =) / DECKPNM (ESC >)
    bool bracketed_paste = false;         // ?2004
    bool focus_reporting = false;         // ?1004
    bool synchronized_output = false;     // ?2026: the application is drawing a frame
    MouseTracking mouse_tracking = MouseTracking::None;
    MouseEncoding mouse_encoding = MouseEncoding::Default;
    // The kitty keyboard protocol's flags in force on the screen in use (the
    // top of its stack, see KittyKeyboard), only those implemented.
    int kitty_keyboard_flags = 0;
    // xterm's modifyOtherKeys level (`CSI > 4 ; level m`): 0 off, 1 for the
    // keys without a legacy encoding of their own, 2 for every modified key.
    int modify_other_keys = 0;

    // Applies `CSI ? mode h` (enabled) or `CSI ? mode l`; modes that do not
    // concern input are ignored.
    void set_private_mode(int mode, bool enabled);

    bool operator==(const Modes&) const = default;
};

} // namespace sb::term
