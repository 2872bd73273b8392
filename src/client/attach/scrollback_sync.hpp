#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "client/attach/canvas.hpp"

namespace sb::client::attach {

// How many lines at the end of `fetched` (the newest lines of the server's
// scrollback) are not yet at the end of the client's copy (the first
// `known_size` lines of `known`): the fewest for which the lines before them
// match the end of the copy, compared over up to 64 lines (by a hash of
// their cells), so that repeated output rarely lines up by chance. None when
// no overlap is found. Unless `fetched` is the whole scrollback (`complete`),
// a match must span the whole window compared. Used when the server's
// scrollback is at its limit and its size no longer tells what is new.
std::optional<std::size_t> new_line_count(const std::vector<std::vector<Cell>>& known,
                                          std::size_t known_size,
                                          const std::vector<std::vector<Cell>>& fetched,
                                          bool complete);

} // namespace sb::client::attach
