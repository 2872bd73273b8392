#pragma once

#include <string>

#include "term/row.hpp"

namespace sb::term {

// The text of a row as UTF-8: each glyph once (wide ones too), combining marks
// after their base, blanks as spaces, trailing blanks trimmed.
std::string plain_text(const Row& row);

// Appends the row as text with SGR sequences, for `capture --ansi` and for
// attach: it starts and ends in the default style and moves no cursor. A tail
// of blanks in one non-default background is drawn with EL (CSI K), which
// fills the rest of the line as erasing did.
void append_ansi(std::string& out, const Row& row);

// Appends the SGR sequence that selects `style` from any state (it resets first).
void append_sgr(std::string& out, const Style& style);

} // namespace sb::term
