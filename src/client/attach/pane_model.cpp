#include "client/attach/pane_model.hpp"

#include "protocol/screen_wire.hpp"

namespace sb::client::attach {

namespace {

int cursor_shape(const std::string& shape, bool blink) {
    if (shape == "underline") {
        return blink ? 3 : 4;
    }
    if (shape == "bar") {
        return blink ? 5 : 6;
    }
    return blink ? 1 : 2;
}

} // namespace

std::vector<Cell> decode_line(const std::string& base64, int cols) {
    std::vector<Cell> cells;
    if (auto bytes = protocol::base64_decode(base64)) {
        if (auto decoded = protocol::decode_row(*bytes)) {
            cells = std::move(*decoded);
        }
    }
    if (cols >= 0) {
        cells.resize(static_cast<std::size_t>(cols));
    }
    return cells;
}

bool PaneModel::apply(const nlohmann::json& frame) {
    if (!frame.is_object() || !frame.contains("cols") || !frame.contains("rows")) {
        return false;
    }
    const int new_rows = frame["rows"].get<int>();
    const int new_cols = frame["cols"].get<int>();
    if (new_rows <= 0 || new_cols <= 0 || new_rows > 10000 || new_cols > 10000) {
        return false;
    }
    changed_rows.clear();
    changed_all = false;
    if (frame.value("full", false) || new_rows != rows || new_cols != cols) {
        changed_all = true;
        rows = new_rows;
        cols = new_cols;
        lines.assign(static_cast<std::size_t>(rows),
                     std::vector<Cell>(static_cast<std::size_t>(cols)));
    }
    for (const auto& entry : frame.value("lines", nlohmann::json::array())) {
        if (!entry.is_array() || entry.size() != 2 || !entry[0].is_number_integer() ||
            !entry[1].is_string()) {
            continue;
        }
        const int row = entry[0].get<int>();
        if (row < 0 || row >= rows) {
            continue;
        }
        lines[static_cast<std::size_t>(row)] = decode_line(entry[1].get<std::string>(), cols);
        changed_rows.push_back(row);
    }
    if (frame.contains("cursor")) {
        const auto& c = frame["cursor"];
        cursor.row = c.value("row", 0);
        cursor.col = c.value("col", 0);
        cursor.visible = c.value("visible", true);
        cursor.shape = cursor_shape(c.value("shape", "block"), c.value("blink", true));
    }
    std::string new_title = frame.value("title", "");
    title_changed = new_title != title;
    title = std::move(new_title);
    state = frame.value("state", state);
    if (frame.contains("modes")) {
        const auto& m = frame["modes"];
        modes.application_cursor_keys = m.value("application_cursor_keys", false);
        modes.application_keypad = m.value("application_keypad", false);
        modes.bracketed_paste = m.value("bracketed_paste", false);
        modes.focus_reporting = m.value("focus_reporting", false);
        modes.mouse = m.value("mouse", "none");
        modes.mouse_encoding = m.value("mouse_encoding", "default");
        modes.kitty_keyboard_flags = m.value("kitty_keyboard_flags", 0);
        modes.modify_other_keys = m.value("modify_other_keys", 0);
    }
    received = true;
    return true;
}

std::string PaneModel::text(const std::vector<Cell>& line) {
    std::string out;
    for (const auto& cell : line) {
        if (cell.width == 0) {
            continue;
        }
        out += cell.text.empty() ? std::string(" ") : cell.text;
    }
    return out;
}

} // namespace sb::client::attach
