#include "term/query_replies.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace sb::term {

namespace {

// xterm's colour report format: 16 bits per channel, the 8-bit value repeated.
std::string x11_color(Rgb color) {
    return fmt::format("rgb:{0:02x}{0:02x}/{1:02x}{1:02x}/{2:02x}{2:02x}", color.red, color.green,
                       color.blue);
}

} // namespace

std::optional<std::string> answer_osc(std::string_view osc, bool bel_terminated,
                                      const ReportedColors& colors) {
    // `Ps ; ? [; ? ...]`: each `?` queries colour Ps, Ps + 1, ... in turn.
    int number = 0;
    if (osc.starts_with("10;")) {
        number = 10;
    } else if (osc.starts_with("11;")) {
        number = 11;
    } else {
        return std::nullopt;
    }
    osc.remove_prefix(3);
    const std::string_view terminator = bel_terminated ? "\x07" : "\x1b\\";
    std::string reply;
    while (true) {
        const auto end = std::min(osc.find(';'), osc.size());
        if (osc.substr(0, end) != "?" || number > 11) {
            break; // setting a colour, or one not kept here: ignored
        }
        const Rgb color = number == 10 ? colors.foreground : colors.background;
        reply += fmt::format("\x1b]{};{}{}", number, x11_color(color), terminator);
        ++number;
        if (end == osc.size()) {
            break;
        }
        osc.remove_prefix(end + 1);
    }
    if (reply.empty()) {
        return std::nullopt;
    }
    return reply;
}

std::optional<std::string> answer_csi(std::string_view leader, std::span<const long> args,
                                      std::string_view intermediates, char command) {
    const bool version_query =
        leader == ">" && intermediates.empty() && command == 'q' && (args.empty() || args[0] <= 0);
    if (version_query) {
        return fmt::format("\x1bP>|switchboard({})\x1b\\", SWITCHBOARD_VERSION);
    }
    return std::nullopt;
}

} // namespace sb::term
