// Feeds a file into one screen model the way a worker's read path does (64 KiB
// reads), without a server or a PTY, and prints the throughput. It isolates
// the screen model's cost for profiling: instruction counts under
// `valgrind --tool=callgrind` do not depend on how busy the machine is.
//
// Usage: screen_feed FILE [COLS ROWS [SCROLLBACK]]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "term/screen.hpp"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: screen_feed FILE [COLS ROWS [SCROLLBACK]]\n");
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "screen_feed: cannot read %s\n", argv[1]);
        return 1;
    }
    const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // What a program's output looks like after the terminal's line
    // discipline: OPOST|ONLCR turns every LF into CR LF.
    std::string input;
    input.reserve(file.size() + file.size() / 8);
    for (const char c : file) {
        if (c == '\n') {
            input += '\r';
        }
        input += c;
    }
    const int cols = argc > 3 ? std::atoi(argv[2]) : 80;
    const int rows = argc > 3 ? std::atoi(argv[3]) : 24;
    const int scrollback = argc > 4 ? std::atoi(argv[4]) : 10000;

    sb::term::Screen screen(rows, cols, scrollback);
    constexpr std::size_t chunk = 65536;
    const auto began = std::chrono::steady_clock::now();
    for (std::size_t at = 0; at < input.size(); at += chunk) {
        screen.feed(std::string_view(input).substr(at, chunk));
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - began;
    std::printf("%.1f MB/s (%zu bytes in %.3f s), %zu scrollback lines, %zu bytes\n",
                static_cast<double>(input.size()) / 1e6 / took.count(), input.size(), took.count(),
                screen.scrollback_size(), screen.scrollback_memory());
    return 0;
}
