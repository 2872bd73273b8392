#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "term/cell.hpp"

namespace sb::term {

// The colours the screen claims as its own when an application asks (OSC 10
// and 11). Applications pick a light or dark theme from the background.
struct ReportedColors {
    Rgb foreground{0xff, 0xff, 0xff};
    Rgb background{0x00, 0x00, 0x00};
};

// Answers to terminal queries that libvterm 0.1.4 leaves to its user; libvterm
// answers DA, DA2, DSR/CPR, DECRQM and DECRQSS itself. Each returns the reply
// to write back to the application, or nothing when the sequence is not a
// query answered here; unanswered queries (palette `OSC 4`) let applications
// fall back to what every terminal does. The kitty keyboard query (`CSI ? u`)
// is answered by Screen, which keeps the flags.

// OSC 10 / OSC 11 (`10;?`, `11;?`, and `10;?;?` for both): the foreground and
// background colour, terminated like the query (BEL or ST).
std::optional<std::string> answer_osc(std::string_view osc, bool bel_terminated,
                                      const ReportedColors& colors);

// XTVERSION (`CSI > q`, `CSI > 0 q`): `DCS > | switchboard(VERSION) ST`.
// A missing argument is -1.
std::optional<std::string> answer_csi(std::string_view leader, std::span<const long> args,
                                      std::string_view intermediates, char command);

} // namespace sb::term
