#pragma once

#include <chrono>
#include <functional>

#include <uv.h>

namespace sb::test {

// A private libuv loop for in-process tests. The destructor runs the loop
// until every handle has closed and checks uv_loop_close succeeds, so a test
// that leaks a handle fails (as libuv's own tests do).
class TestLoop {
public:
    TestLoop();
    ~TestLoop();
    TestLoop(const TestLoop&) = delete;
    TestLoop& operator=(const TestLoop&) = delete;

    uv_loop_t* get() { return &loop_; }
    // Runs the loop until `condition` holds (checked every few milliseconds
    // and after every event) or `timeout` passes; returns whether it held.
    bool run_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);
    // Runs the loop for a while, whatever happens.
    void run_for(std::chrono::milliseconds duration);
    // Closes nothing; returns uv_loop_close's result after draining close callbacks.
    int close();

private:
    uv_loop_t loop_{};
    bool closed_ = false;
};

} // namespace sb::test
