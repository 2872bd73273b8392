#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace sb::protocol {

// Splits a byte stream into lines ('\n'-terminated, a trailing '\r'
// dropped), refusing any line longer than the limit. Used on both ends of the
// control socket.
class LineReader {
public:
    explicit LineReader(std::size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

    enum class Status { Ok, LineTooLong };

    // Feeds bytes; calls `on_line` for every complete line. Stops at the
    // first line over the limit and reports it; the reader is then spent.
    Status feed(std::string_view bytes, const std::function<void(std::string_view)>& on_line);

    // Bytes of an unfinished line held so far.
    std::size_t buffered() const { return partial_.size(); }

private:
    std::size_t max_line_bytes_;
    std::string partial_;
    bool spent_ = false;
};

} // namespace sb::protocol
