#include "protocol/screen_frame.hpp"

namespace sb::protocol {

using nlohmann::json;

bool ScreenFrame::same_meta(const ScreenFrame& other) const {
    return worker == other.worker && cols == other.cols && rows == other.rows &&
           cursor == other.cursor && title == other.title &&
           alternate_screen == other.alternate_screen && reverse_video == other.reverse_video &&
           state == other.state && modes == other.modes;
}

json to_json(const ScreenFrame& frame) {
    json lines = json::array();
    for (const auto& [row, cells] : frame.lines) {
        lines.push_back(json::array({row, base64_encode(encode_row(cells))}));
    }
    return {
        {"worker", frame.worker},
        {"full", frame.full},
        {"cols", frame.cols},
        {"rows", frame.rows},
        {"lines", std::move(lines)},
        {"cursor",
         {{"row", frame.cursor.row},
          {"col", frame.cursor.col},
          {"visible", frame.cursor.visible},
          {"shape", frame.cursor.shape},
          {"blink", frame.cursor.blink}}},
        {"title", frame.title},
        {"alternate_screen", frame.alternate_screen},
        {"reverse_video", frame.reverse_video},
        {"state", frame.state},
        {"modes",
         {{"application_cursor_keys", frame.modes.application_cursor_keys},
          {"application_keypad", frame.modes.application_keypad},
          {"bracketed_paste", frame.modes.bracketed_paste},
          {"focus_reporting", frame.modes.focus_reporting},
          {"mouse", frame.modes.mouse},
          {"mouse_encoding", frame.modes.mouse_encoding},
          {"kitty_keyboard_flags", frame.modes.kitty_keyboard_flags},
          {"modify_other_keys", frame.modes.modify_other_keys}}},
    };
}

std::optional<ScreenFrame> screen_frame_from_json(const json& frame) {
    if (!frame.is_object() || !frame.contains("cols") || !frame.contains("rows") ||
        !frame["cols"].is_number_integer() || !frame["rows"].is_number_integer()) {
        return std::nullopt;
    }
    ScreenFrame out;
    out.cols = frame["cols"].get<int>();
    out.rows = frame["rows"].get<int>();
    out.worker = frame.value("worker", "");
    out.full = frame.value("full", false);
    for (const auto& entry : frame.value("lines", json::array())) {
        if (!entry.is_array() || entry.size() != 2 || !entry[0].is_number_integer() ||
            !entry[1].is_string()) {
            continue;
        }
        std::vector<WireCell> cells;
        if (const auto bytes = base64_decode(entry[1].get<std::string>())) {
            cells = decode_row(*bytes).value_or(std::vector<WireCell>{});
        }
        out.lines.emplace_back(entry[0].get<int>(), std::move(cells));
    }
    if (frame.contains("cursor") && frame["cursor"].is_object()) {
        const auto& c = frame["cursor"];
        out.cursor = {.row = c.value("row", 0),
                      .col = c.value("col", 0),
                      .visible = c.value("visible", true),
                      .shape = c.value("shape", "block"),
                      .blink = c.value("blink", true)};
    }
    out.title = frame.value("title", "");
    out.alternate_screen = frame.value("alternate_screen", false);
    out.reverse_video = frame.value("reverse_video", false);
    out.state = frame.value("state", "");
    if (frame.contains("modes") && frame["modes"].is_object()) {
        const auto& m = frame["modes"];
        out.modes = {.application_cursor_keys = m.value("application_cursor_keys", false),
                     .application_keypad = m.value("application_keypad", false),
                     .bracketed_paste = m.value("bracketed_paste", false),
                     .focus_reporting = m.value("focus_reporting", false),
                     .mouse = m.value("mouse", "none"),
                     .mouse_encoding = m.value("mouse_encoding", "default"),
                     .kitty_keyboard_flags = m.value("kitty_keyboard_flags", 0),
                     .modify_other_keys = m.value("modify_other_keys", 0)};
    }
    return out;
}

} // namespace sb::protocol
