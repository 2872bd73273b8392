#include "client/attach/scrollback_sync.hpp"

#include <algorithm>
#include <functional>
#include <string>

namespace sb::client::attach {

namespace {

std::size_t line_hash(const std::vector<Cell>& line) {
    std::size_t hash = line.size();
    const auto mix = [&hash](std::size_t value) {
        hash ^= value + 0x9e3779b97f4a7c15ULL + (hash << 6) + (hash >> 2);
    };
    for (const auto& cell : line) {
        mix(std::hash<std::string>{}(cell.text));
        mix(cell.width);
        const auto& st = cell.style;
        mix(static_cast<std::size_t>(st.attributes) << 8 | st.underline);
        for (const auto& color : {st.foreground, st.background}) {
            mix(static_cast<std::size_t>(color.kind) << 24 |
                static_cast<std::size_t>(color.red) << 16 |
                static_cast<std::size_t>(color.green) << 8 | color.blue);
        }
    }
    return hash;
}

} // namespace

std::optional<std::size_t> new_line_count(const std::vector<std::vector<Cell>>& known,
                                          std::size_t known_size,
                                          const std::vector<std::vector<Cell>>& fetched,
                                          bool complete) {
    // Enough lines compared that repeated output is unlikely to line up by
    // chance.
    constexpr std::size_t window = 64;
    const std::size_t tail = std::min(window, known_size);
    if (tail == 0) {
        return fetched.size();
    }
    std::vector<std::size_t> known_hashes(tail);
    for (std::size_t i = 0; i < tail; ++i) {
        known_hashes[i] = line_hash(known[known_size - tail + i]);
    }
    std::vector<std::size_t> fetched_hashes(fetched.size());
    for (std::size_t i = 0; i < fetched.size(); ++i) {
        fetched_hashes[i] = line_hash(fetched[i]);
    }
    for (std::size_t fresh = 0; fresh < fetched.size(); ++fresh) {
        const std::size_t overlap = std::min(tail, fetched.size() - fresh);
        const std::size_t end = fetched.size() - fresh;
        bool same = true;
        for (std::size_t i = 0; i < overlap && same; ++i) {
            same = fetched_hashes[end - overlap + i] == known_hashes[tail - overlap + i];
        }
        if (same && (overlap == tail || complete)) {
            return fresh;
        }
    }
    return std::nullopt;
}

} // namespace sb::client::attach
