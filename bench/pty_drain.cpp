// The raw limit for bench/run's throughput figure: runs a command under a
// pseudo-terminal opened exactly as switchboard opens a worker's (same line
// settings, same size), reads everything it prints as fast as the kernel
// hands it over and throws it away. Prints the bytes read and the wall-clock
// time (CLOCK_REALTIME, seconds) at which the end of output was seen.
//
// With --pace US it waits US microseconds after each read that found less
// than a full buffer of the terminal (pty::full_read) before reading again. A
// writer of short lines is slowed by a reader that takes every few lines as
// they land; so for such output this reader is the faster one, and the
// raw limit is the faster of the two.
//
// Usage: pty_drain [--pace US] COLS ROWS COMMAND [ARG...]

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <variant>
#include <vector>

#include "pty/pty.hpp"
#include "pty/spawn.hpp"

extern char** environ;

int main(int argc, char** argv) {
    long pace_us = 0;
    if (argc > 2 && std::strcmp(argv[1], "--pace") == 0) {
        pace_us = std::atol(argv[2]);
        argv += 2;
        argc -= 2;
    }
    if (argc < 4) {
        std::fprintf(stderr, "usage: pty_drain [--pace US] COLS ROWS COMMAND [ARG...]\n");
        return 2;
    }
    // Sleeps as long as asked, not up to 50 us longer.
    ::prctl(PR_SET_TIMERSLACK, 1UL);
    const timespec pause{0, pace_us * 1000};
    const int cols = std::atoi(argv[1]);
    const int rows = std::atoi(argv[2]);
    auto opened = sb::pty::open_pty(cols, rows);
    if (auto* error = std::get_if<sb::pty::PtyError>(&opened)) {
        std::fprintf(stderr, "pty_drain: %s\n", error->message.c_str());
        return 1;
    }
    auto& terminal = std::get<sb::pty::Pty>(opened);
    sb::pty::SpawnSpec spec;
    for (int i = 3; i < argc; ++i) {
        spec.argv.emplace_back(argv[i]);
    }
    for (char** e = environ; *e != nullptr; ++e) {
        spec.env.add(*e);
    }
    char cwd[4096];
    spec.cwd = ::getcwd(cwd, sizeof cwd) != nullptr ? cwd : "/";
    auto spawned = sb::pty::spawn(spec, terminal.slave.get());
    terminal.slave.reset();
    if (auto* error = std::get_if<sb::pty::SpawnError>(&spawned)) {
        std::fprintf(stderr, "pty_drain: %s\n", error->message.c_str());
        return 1;
    }
    const pid_t pid = std::get<pid_t>(spawned);

    // The same shape as the server's read path: poll, then read until EAGAIN.
    static char buffer[65536];
    unsigned long long total = 0;
    pollfd watched{terminal.master.get(), POLLIN, 0};
    for (;;) {
        const ssize_t n = ::read(terminal.master.get(), buffer, sizeof buffer);
        if (n > 0) {
            total += static_cast<unsigned long long>(n);
            if (pace_us > 0 && n < sb::pty::full_read) {
                ::nanosleep(&pause, nullptr);
            }
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            ::poll(&watched, 1, -1);
            continue;
        }
        break; // EIO or 0: nothing holds the terminal any more
    }
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    ::waitpid(pid, nullptr, 0);
    std::printf("%llu %lld.%09ld\n", total, static_cast<long long>(now.tv_sec), now.tv_nsec);
    return 0;
}
