#include "protocol/line_reader.hpp"

namespace sb::protocol {

LineReader::Status LineReader::feed(std::string_view bytes,
                                    const std::function<void(std::string_view)>& on_line) {
    if (spent_) {
        return Status::LineTooLong;
    }
    while (!bytes.empty()) {
        const auto newline = bytes.find('\n');
        const std::string_view piece = bytes.substr(0, newline);
        if (partial_.size() + piece.size() > max_line_bytes_) {
            spent_ = true;
            partial_.clear();
            partial_.shrink_to_fit();
            return Status::LineTooLong;
        }
        if (newline == std::string_view::npos) {
            partial_.append(piece);
            return Status::Ok;
        }
        std::string_view line;
        if (partial_.empty()) {
            line = piece;
        } else {
            partial_.append(piece);
            line = partial_;
        }
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        on_line(line);
        partial_.clear();
        bytes.remove_prefix(newline + 1);
    }
    return Status::Ok;
}

} // namespace sb::protocol
