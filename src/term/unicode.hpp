#pragma once

#include <string>
#include <string_view>

#include "util/strings.hpp"

namespace sb::term {

// Whether libvterm may treat the code point as a combining mark, that is
// append it to the glyph before it instead of starting a new cell. A superset
// of libvterm 0.1.4's own table (which it does not export): Unicode's
// nonspacing, enclosing and format characters plus the few others libvterm
// combines.
bool is_combining(char32_t code_point);

// util::append_utf8, which the screen model uses throughout.
using util::append_utf8;

// The text as valid UTF-8 without control characters: malformed bytes become
// U+FFFD and C0 controls and DEL are dropped. For strings an application
// chooses freely, such as its title, which end up in JSON and on terminals.
std::string printable_utf8(std::string_view text);

} // namespace sb::term
