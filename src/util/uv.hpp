#pragma once

#include <chrono>
#include <functional>

#include <uv.h>

namespace sb::util {

// RAII owners of libuv handles. Each allocates its handle on the heap and, on
// destruction, closes it and frees it in the close callback, as libuv
// requires: the memory of a handle must live until its close callback runs.
// Callbacks never run after the owner is gone.

// The uv_timer_t is made on the first start(): a worker owns several timers
// that most workers never start, and each handle costs about 200 bytes.
class Timer {
public:
    explicit Timer(uv_loop_t* loop);
    ~Timer();
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    void start(std::chrono::milliseconds delay, std::function<void()> callback);
    void stop();
    bool active() const;

private:
    struct State;
    uv_loop_t* loop_;
    State* state_ = nullptr;
};

// A one-shot timer with microsecond resolution, where a Timer has
// milliseconds: a timerfd watched by the loop. Its descriptor is made on the
// first start(); start() returns false if it cannot be made (no descriptors
// left), and the caller goes on without the wait.
class FineTimer {
public:
    explicit FineTimer(uv_loop_t* loop);
    ~FineTimer();
    FineTimer(const FineTimer&) = delete;
    FineTimer& operator=(const FineTimer&) = delete;

    bool start(std::chrono::microseconds delay, std::function<void()> callback);
    void stop();
    bool active() const;

private:
    struct State;
    uv_loop_t* loop_;
    State* state_ = nullptr;
};

class Poll {
public:
    // Watches `fd` (not owned) for readiness.
    Poll(uv_loop_t* loop, int fd);
    ~Poll();
    Poll(const Poll&) = delete;
    Poll& operator=(const Poll&) = delete;

    // `events` is a mask of UV_READABLE, UV_WRITABLE, UV_DISCONNECT; the
    // callback gets libuv's status (negative errno) and the ready events.
    // Calling start again changes the mask and keeps the callback.
    int start(int events, std::function<void(int status, int events)> callback);
    int change(int events);
    void stop();
    int events() const;

private:
    struct State;
    State* state_;
};

class Signal {
public:
    explicit Signal(uv_loop_t* loop);
    ~Signal();
    Signal(const Signal&) = delete;
    Signal& operator=(const Signal&) = delete;

    int start(int signum, std::function<void()> callback);
    void stop();

private:
    struct State;
    State* state_;
};

// Runs a callback on the loop thread once the loop is woken from anywhere
// (another thread or a signal handler).
class Async {
public:
    Async(uv_loop_t* loop, std::function<void()> callback);
    ~Async();
    Async(const Async&) = delete;
    Async& operator=(const Async&) = delete;

    void send();

private:
    struct State;
    State* state_;
};

// Runs a callback once at the end of the current turn of the loop, before
// the loop next waits for I/O: after the I/O callbacks of this turn (a
// uv_check_t) or, when armed where no check follows before the wait (a
// timer callback), just before the wait (a uv_prepare_t). It costs nothing
// while it is not armed: an idle loop is not woken for it.
class TurnEnd {
public:
    TurnEnd(uv_loop_t* loop, std::function<void()> callback);
    ~TurnEnd();
    TurnEnd(const TurnEnd&) = delete;
    TurnEnd& operator=(const TurnEnd&) = delete;

    // Arms it for this turn; arming it again before it runs does nothing.
    void arm();
    // Disarms it (what it would do has been done).
    void disarm();
    bool armed() const;

private:
    struct State;
    State* state_;
};

} // namespace sb::util
