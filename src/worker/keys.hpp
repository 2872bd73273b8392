#pragma once

#include <string>
#include <string_view>

namespace sb::worker {

// Terminal modes that change what a key sends.
struct KeyModes {
    bool application_cursor = false; // DECCKM: arrows send ESC O A
    bool application_keypad = false;
};

// The bytes a key named the way tmux's send-keys names it sends: Enter,
// Escape, Tab, BTab, BSpace, Space, Up, Down, Left, Right, Home, End,
// PageUp/PPage, PageDown/NPage, Insert/IC, Delete/DC, F1..F12, with C-, M-
// and S- modifiers (C-c, M-x, C-Up, S-Tab). Like send-keys, a word that is
// not a key name is sent as the text it is.
std::string encode_key(std::string_view name, const KeyModes& modes);

} // namespace sb::worker
