#pragma once

#include <string>
#include <string_view>

#include "util/key_encoding.hpp"

namespace sb::worker {

// Terminal modes that change what a key sends.
struct KeyModes {
    bool application_cursor = false; // DECCKM: arrows send ESC O A
    bool application_keypad = false;
    // The kitty keyboard flags and modifyOtherKeys level the application set.
    util::KeyboardProtocols protocols;
};

// The bytes a key named the way tmux's send-keys names it sends: Enter,
// Escape, Tab, BTab, BSpace, Space, Up, Down, Left, Right, Home, End,
// PageUp/PPage, PageDown/NPage, Insert/IC, Delete/DC, F1..F12, with C-, M-
// and S- modifiers (C-c, M-x, C-Up, S-Tab). Like send-keys, a word that is
// not a key name is sent as the text it is. Under a keyboard protocol the
// application asked for (kitty's flag 1, modifyOtherKeys), keys that type a
// character, Enter, Tab, BTab, BSpace, Space and Escape are encoded as
// attach encodes them (S-Enter as `CSI 13 ; 2 u` for kitty, say); cursor,
// editing and function keys keep their xterm forms.
std::string encode_key(std::string_view name, const KeyModes& modes);

} // namespace sb::worker
