#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/attach/canvas.hpp"
#include "client/attach/input.hpp"
#include "protocol/screen_frame.hpp"

namespace sb::client::attach {

// The client's copy of one worker's screen, kept from the server's "screen"
// frames: a full frame replaces it, the others change the rows they carry.
struct PaneModel {
    int rows = 0;
    int cols = 0;
    std::vector<std::vector<Cell>> lines;
    CursorState cursor;
    std::string title;
    WorkerModes modes;
    std::string state;
    bool received = false;
    // What the last frame applied changed: every row (a full frame or a new
    // size) or the rows listed, and whether the title changed.
    bool changed_all = false;
    std::vector<int> changed_rows;
    // Of each of `changed_rows`, the columns [first, second) that differ
    // from what the row held before (a typed key's echo changes one cell).
    std::vector<std::pair<int, int>> changed_spans;
    bool title_changed = false;

    // False (and the model unchanged) when the frame is malformed.
    bool apply(const nlohmann::json& frame);
    bool apply(const protocol::ScreenFrame& frame);
    // The same, taking the frame's rows (its other fields are kept).
    bool apply(protocol::ScreenFrame&& frame);
    // The plain text of a row, for search.
    static std::string text(const std::vector<Cell>& line);
};

// A row in the binary row form decoded into `cols` cells (blank when it
// does not decode).
std::vector<Cell> decode_line(std::string_view bytes, int cols);

} // namespace sb::client::attach
