#include "term/modes.hpp"

namespace sb::term {

namespace {

void set_tracking(Modes& modes, MouseTracking tracking, bool enabled) {
    // Like libvterm and xterm, turning any tracking mode off turns tracking off.
    modes.mouse_tracking = enabled ? tracking : MouseTracking::None;
}

void set_encoding(Modes& modes, MouseEncoding encoding, bool enabled) {
    if (enabled) {
        modes.mouse_encoding = encoding;
    } else if (modes.mouse_encoding == encoding) {
        modes.mouse_encoding = MouseEncoding::Default;
    }
}

} // namespace

void Modes::set_private_mode(int mode, bool enabled) {
    switch (mode) {
    case 1:
        application_cursor_keys = enabled;
        break;
    case 1000:
        set_tracking(*this, MouseTracking::Click, enabled);
        break;
    case 1002:
        set_tracking(*this, MouseTracking::Drag, enabled);
        break;
    case 1003:
        set_tracking(*this, MouseTracking::Motion, enabled);
        break;
    case 1004:
        focus_reporting = enabled;
        break;
    case 1005:
        set_encoding(*this, MouseEncoding::Utf8, enabled);
        break;
    case 1006:
        set_encoding(*this, MouseEncoding::Sgr, enabled);
        break;
    case 1015:
        set_encoding(*this, MouseEncoding::Urxvt, enabled);
        break;
    case 2004:
        bracketed_paste = enabled;
        break;
    case 2026:
        synchronized_output = enabled;
        break;
    default:
        break;
    }
}

} // namespace sb::term
