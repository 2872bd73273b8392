#pragma once

#include <string>

namespace sb::util {

// The bits of a key's modifier parameter (xterm and kitty alike), less one.
enum KeyModifier : int {
    kShift = 1,
    kAlt = 2,
    kCtrl = 4,
    kSuper = 8,
    kHyper = 16,
    kMeta = 32,
    kCapsLock = 64,
    kNumLock = 128,
};

// The keyboard protocols an application asked its terminal for: the kitty
// keyboard protocol's flags (only 1, disambiguate, is ever set) and xterm's
// modifyOtherKeys level (0, 1 or 2).
struct KeyboardProtocols {
    int kitty_keyboard_flags = 0;
    int modify_other_keys = 0;

    bool operator==(const KeyboardProtocols&) const = default;
};

// A key that types a character, or Enter (13), Tab (9), Backspace (127) or
// Escape (27), with the modifier bits `mods`, as an application expects it
// under `protocols`: kitty's `CSI code ; modifier u` for the keys flag 1
// (disambiguate) covers when it is set (Escape, and any key with a modifier
// other than Shift; Enter, Tab and Backspace only with a modifier);
// otherwise xterm's `CSI 27 ; modifier ; code ~` under modifyOtherKeys 2
// (any modified key but Shift with a character) or 1 (only those without a
// legacy encoding, Ctrl+Enter say); otherwise legacy bytes: Ctrl with a
// letter or @[\]^_ the control byte, Alt an ESC before the key, Shift the
// shifted character, Shift+Tab `CSI Z`, and modifiers a legacy key cannot
// carry (Shift+Enter) dropped. `code` is the key's own (unshifted) code
// point and `shifted` what Shift makes of it (0 when not known: a letter's
// upper case then).
std::string encode_text_key(char32_t code, char32_t shifted, int mods,
                            const KeyboardProtocols& protocols);

} // namespace sb::util
