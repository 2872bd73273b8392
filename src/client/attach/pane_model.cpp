#include "client/attach/pane_model.hpp"

#include <algorithm>

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

std::vector<Cell> decode_line(std::string_view bytes, int cols) {
    std::vector<Cell> cells;
    if (auto decoded = protocol::decode_row(bytes)) {
        cells = std::move(*decoded);
    }
    if (cols >= 0) {
        cells.resize(static_cast<std::size_t>(cols));
    }
    return cells;
}

bool PaneModel::apply(const nlohmann::json& frame) {
    auto decoded = protocol::screen_frame_from_json(frame);
    return decoded && apply(std::move(*decoded));
}

bool PaneModel::apply(const protocol::ScreenFrame& frame) {
    protocol::ScreenFrame copy = frame;
    return apply(std::move(copy));
}

bool PaneModel::apply(protocol::ScreenFrame&& frame) {
    if (frame.rows <= 0 || frame.cols <= 0 || frame.rows > 10000 || frame.cols > 10000) {
        return false;
    }
    const bool partial = !frame.spans.empty();
    if (partial && (frame.full || frame.rows != rows || frame.cols != cols ||
                    frame.spans.size() != frame.lines.size())) {
        return false; // changed cells of rows this model does not have
    }
    changed_rows.clear();
    changed_spans.clear();
    changed_all = false;
    if (frame.full || frame.rows != rows || frame.cols != cols) {
        changed_all = true;
        rows = frame.rows;
        cols = frame.cols;
        lines.assign(static_cast<std::size_t>(rows),
                     std::vector<Cell>(static_cast<std::size_t>(cols)));
    }
    for (std::size_t i = 0; i < frame.lines.size(); ++i) {
        auto& [row, cells] = frame.lines[i];
        if (row < 0 || row >= rows) {
            continue;
        }
        auto& line = lines[static_cast<std::size_t>(row)];
        if (partial) {
            // Just the cells that changed, from the server itself.
            const auto [first, end] = frame.spans[i];
            if (first < 0 || end > cols || end - first != static_cast<int>(cells.size())) {
                continue;
            }
            std::move(cells.begin(), cells.end(), line.begin() + first);
            changed_rows.push_back(row);
            changed_spans.emplace_back(first, end);
            continue;
        }
        cells.resize(static_cast<std::size_t>(cols));
        auto [first, end] = std::pair{0, cols};
        if (!changed_all) {
            std::tie(first, end) = changed_span(cells.data(), line.data(), 0, cols);
            if (first == end) {
                continue; // the row was sent again as it was
            }
        }
        line = std::move(cells);
        changed_rows.push_back(row);
        changed_spans.emplace_back(first, end);
    }
    cursor.row = frame.cursor.row;
    cursor.col = frame.cursor.col;
    cursor.visible = frame.cursor.visible;
    cursor.shape = cursor_shape(frame.cursor.shape, frame.cursor.blink);
    title_changed = frame.title != title;
    title = frame.title;
    if (!frame.state.empty()) {
        state = frame.state;
    }
    modes.application_cursor_keys = frame.modes.application_cursor_keys;
    modes.application_keypad = frame.modes.application_keypad;
    modes.bracketed_paste = frame.modes.bracketed_paste;
    modes.focus_reporting = frame.modes.focus_reporting;
    modes.mouse = frame.modes.mouse;
    modes.mouse_encoding = frame.modes.mouse_encoding;
    modes.kitty_keyboard_flags = frame.modes.kitty_keyboard_flags;
    modes.modify_other_keys = frame.modes.modify_other_keys;
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
