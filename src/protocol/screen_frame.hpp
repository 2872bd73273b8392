#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/screen_wire.hpp"

namespace sb::protocol {

struct FrameCursor {
    int row = 0;
    int col = 0;
    bool visible = true;
    std::string shape = "block"; // block, underline or bar
    bool blink = true;
    bool operator==(const FrameCursor&) const = default;
};

// What the application in a worker asked of its terminal.
struct FrameModes {
    bool application_cursor_keys = false;
    bool application_keypad = false;
    bool bracketed_paste = false;
    bool focus_reporting = false;
    std::string mouse = "none";
    std::string mouse_encoding = "default";
    int kitty_keyboard_flags = 0;
    int modify_other_keys = 0;
    bool operator==(const FrameModes&) const = default;
};

// One pane's "screen" frame of attach (switchboard-protocol(7)): sent as
// JSON to a client of the socket, handed as it is to a session the server
// runs itself.
struct ScreenFrame {
    std::string worker;
    bool full = false;
    int cols = 0;
    int rows = 0;
    // The rows that changed (every row when `full`), with their cells.
    std::vector<std::pair<int, std::vector<WireCell>>> lines;
    // Only in a frame handed as it is to a session in the server, never in
    // JSON: when not empty, the columns [first, second) of each of `lines`
    // that changed, the line holding just those cells; the rest of the row
    // is as the frame before left it.
    std::vector<std::pair<int, int>> spans;
    // Only in a frame handed as it is, never in JSON: the frame is text
    // typed at the cursor and nothing else (one line, one span that starts
    // where the last frame left the cursor and ends where the cursor is
    // now, only printable ASCII; everything but the cursor's column as the
    // last frame had it). A session may draw it as the bare text.
    bool typed = false;
    FrameCursor cursor;
    std::string title;
    bool alternate_screen = false;
    bool reverse_video = false;
    std::string state;
    FrameModes modes;

    // Whether everything but the rows and `full` is the same.
    bool same_meta(const ScreenFrame& other) const;
};

// The frame's JSON, rows in the binary row form in base64.
nlohmann::json to_json(const ScreenFrame& frame);
// Nothing when it has no usable size; rows that are malformed are left out,
// rows that do not decode come as empty (blank) rows.
std::optional<ScreenFrame> screen_frame_from_json(const nlohmann::json& frame);

} // namespace sb::protocol
