#include "util/uv.hpp"

#include <algorithm>
#include <cstdint>
#include <sys/timerfd.h>
#include <unistd.h>

namespace sb::util {

namespace {

// The state (handle and callback) lives until libuv's close callback, so a
// callback that destroys its own owner finishes safely; `closed` keeps a
// callback from running once its owner is gone.
template <typename State>
void close_and_free(State* state) {
    state->closed = true;
    auto* handle = reinterpret_cast<uv_handle_t*>(&state->handle);
    uv_close(handle, [](uv_handle_t* done) { delete static_cast<State*>(done->data); });
}

} // namespace

struct Timer::State {
    uv_timer_t handle;
    std::function<void()> callback;
    bool closed = false;
};

Timer::Timer(uv_loop_t* loop) : loop_(loop) {}

Timer::~Timer() {
    if (state_ != nullptr) {
        close_and_free(state_);
    }
}

void Timer::start(std::chrono::milliseconds delay, std::function<void()> callback) {
    if (state_ == nullptr) {
        state_ = new State;
        uv_timer_init(loop_, &state_->handle);
        state_->handle.data = state_;
    }
    state_->callback = std::move(callback);
    const auto ms = delay.count() < 0 ? 0 : static_cast<std::uint64_t>(delay.count());
    uv_timer_start(
        &state_->handle,
        [](uv_timer_t* handle) {
            auto* state = static_cast<State*>(handle->data);
            // A timer fires once; taking the callback out lets it start the
            // timer again with a new one.
            auto callback = std::move(state->callback);
            state->callback = nullptr;
            if (!state->closed && callback) {
                callback();
            }
        },
        ms, 0);
}

void Timer::stop() {
    if (state_ != nullptr) {
        uv_timer_stop(&state_->handle);
    }
}

bool Timer::active() const {
    return state_ != nullptr &&
           uv_is_active(reinterpret_cast<const uv_handle_t*>(&state_->handle)) != 0;
}

struct FineTimer::State {
    uv_poll_t handle;
    int fd = -1;
    std::function<void()> callback;
    bool armed = false;
    bool closed = false;
};

FineTimer::FineTimer(uv_loop_t* loop) : loop_(loop) {}

FineTimer::~FineTimer() {
    if (state_ == nullptr) {
        return;
    }
    state_->closed = true;
    // The descriptor is closed once libuv no longer watches it.
    uv_close(reinterpret_cast<uv_handle_t*>(&state_->handle), [](uv_handle_t* done) {
        auto* state = static_cast<State*>(done->data);
        ::close(state->fd);
        delete state;
    });
}

bool FineTimer::start(std::chrono::microseconds delay, std::function<void()> callback) {
    if (state_ == nullptr) {
        const int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (fd < 0) {
            return false;
        }
        state_ = new State;
        state_->fd = fd;
        uv_poll_init(loop_, &state_->handle, fd);
        state_->handle.data = state_;
    }
    // A zero it_value would disarm the timer instead of firing at once.
    const auto us = std::max<std::int64_t>(delay.count(), 1);
    itimerspec when{};
    when.it_value.tv_sec = static_cast<time_t>(us / 1'000'000);
    when.it_value.tv_nsec = static_cast<long>(us % 1'000'000 * 1000);
    // Setting the time also forgets an expiry that was not read yet.
    if (::timerfd_settime(state_->fd, 0, &when, nullptr) != 0) {
        return false;
    }
    state_->callback = std::move(callback);
    state_->armed = true;
    uv_poll_start(&state_->handle, UV_READABLE, [](uv_poll_t* handle, int, int) {
        auto* state = static_cast<State*>(handle->data);
        std::uint64_t expiries = 0;
        if (::read(state->fd, &expiries, sizeof expiries) != sizeof expiries) {
            return; // not expired after all (EAGAIN): keep waiting
        }
        uv_poll_stop(handle);
        state->armed = false;
        auto callback = std::move(state->callback);
        state->callback = nullptr;
        if (!state->closed && callback) {
            callback();
        }
    });
    return true;
}

void FineTimer::stop() {
    if (state_ == nullptr || !state_->armed) {
        return;
    }
    const itimerspec disarm{};
    ::timerfd_settime(state_->fd, 0, &disarm, nullptr);
    uv_poll_stop(&state_->handle);
    state_->armed = false;
    state_->callback = nullptr;
}

bool FineTimer::active() const {
    return state_ != nullptr && state_->armed;
}

struct Poll::State {
    uv_poll_t handle;
    std::function<void(int, int)> callback;
    int events = 0;
    bool closed = false;
};

Poll::Poll(uv_loop_t* loop, int fd) : state_(new State) {
    uv_poll_init(loop, &state_->handle, fd);
    state_->handle.data = state_;
}

Poll::~Poll() {
    close_and_free(state_);
}

int Poll::start(int events, std::function<void(int status, int events)> callback) {
    state_->callback = std::move(callback);
    return change(events);
}

int Poll::change(int events) {
    if (events == 0) {
        stop();
        return 0;
    }
    state_->events = events;
    return uv_poll_start(&state_->handle, events, [](uv_poll_t* handle, int status, int ready) {
        auto* state = static_cast<State*>(handle->data);
        if (!state->closed && state->callback) {
            state->callback(status, ready);
        }
    });
}

void Poll::stop() {
    state_->events = 0;
    uv_poll_stop(&state_->handle);
}

int Poll::events() const {
    return state_->events;
}

struct Signal::State {
    uv_signal_t handle;
    std::function<void()> callback;
    bool closed = false;
};

Signal::Signal(uv_loop_t* loop) : state_(new State) {
    uv_signal_init(loop, &state_->handle);
    state_->handle.data = state_;
}

Signal::~Signal() {
    close_and_free(state_);
}

int Signal::start(int signum, std::function<void()> callback) {
    state_->callback = std::move(callback);
    return uv_signal_start(
        &state_->handle,
        [](uv_signal_t* handle, int) {
            auto* state = static_cast<State*>(handle->data);
            if (!state->closed && state->callback) {
                state->callback();
            }
        },
        signum);
}

void Signal::stop() {
    uv_signal_stop(&state_->handle);
}

struct Async::State {
    uv_async_t handle;
    std::function<void()> callback;
    bool closed = false;
};

Async::Async(uv_loop_t* loop, std::function<void()> callback) : state_(new State) {
    state_->callback = std::move(callback);
    uv_async_init(loop, &state_->handle, [](uv_async_t* handle) {
        auto* state = static_cast<State*>(handle->data);
        if (!state->closed && state->callback) {
            state->callback();
        }
    });
    state_->handle.data = state_;
}

Async::~Async() {
    close_and_free(state_);
}

void Async::send() {
    uv_async_send(&state_->handle);
}

// Two handles: the state is freed when the second one's close callback runs.
struct TurnEnd::State {
    uv_check_t check;
    uv_prepare_t prepare;
    std::function<void()> callback;
    bool armed = false;
    bool closed = false;
    int open_handles = 2;

    void run() {
        if (closed || !armed) {
            return;
        }
        disarm();
        // The callback may destroy the owner (and close this state): it is
        // the last thing done here.
        callback();
    }
    void disarm() {
        armed = false;
        uv_check_stop(&check);
        uv_prepare_stop(&prepare);
    }
};

TurnEnd::TurnEnd(uv_loop_t* loop, std::function<void()> callback) : state_(new State) {
    state_->callback = std::move(callback);
    uv_check_init(loop, &state_->check);
    uv_prepare_init(loop, &state_->prepare);
    state_->check.data = state_;
    state_->prepare.data = state_;
}

TurnEnd::~TurnEnd() {
    state_->closed = true;
    const auto closed = [](uv_handle_t* handle) {
        auto* state = static_cast<State*>(handle->data);
        if (--state->open_handles == 0) {
            delete state;
        }
    };
    uv_close(reinterpret_cast<uv_handle_t*>(&state_->check), closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&state_->prepare), closed);
}

void TurnEnd::arm() {
    if (state_->armed) {
        return;
    }
    state_->armed = true;
    uv_check_start(&state_->check,
                   [](uv_check_t* handle) { static_cast<State*>(handle->data)->run(); });
    uv_prepare_start(&state_->prepare,
                     [](uv_prepare_t* handle) { static_cast<State*>(handle->data)->run(); });
}

void TurnEnd::disarm() {
    if (state_->armed) {
        state_->disarm();
    }
}

bool TurnEnd::armed() const {
    return state_->armed;
}

} // namespace sb::util
