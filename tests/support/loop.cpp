#include "loop.hpp"

#include <cstdio>
#include <cstdlib>

namespace sb::test {

TestLoop::TestLoop() {
    uv_loop_init(&loop_);
}

TestLoop::~TestLoop() {
    if (!closed_ && close() != 0) {
        std::fprintf(stderr, "test loop: handles left open at the end of the test\n");
        std::abort();
    }
}

bool TestLoop::run_until(const std::function<bool()>& condition,
                         std::chrono::milliseconds timeout) {
    struct Tick {
        uv_timer_t timer;
    };
    auto* tick = new Tick;
    uv_timer_init(&loop_, &tick->timer);
    uv_timer_start(
        &tick->timer, [](uv_timer_t*) {}, 5, 5);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool held = condition();
    while (!held && std::chrono::steady_clock::now() < deadline) {
        uv_run(&loop_, UV_RUN_ONCE);
        held = condition();
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&tick->timer),
             [](uv_handle_t* handle) { delete reinterpret_cast<Tick*>(handle); });
    uv_run(&loop_, UV_RUN_NOWAIT);
    return held;
}

void TestLoop::run_for(std::chrono::milliseconds duration) {
    run_until([] { return false; }, duration);
}

int TestLoop::close() {
    closed_ = true;
    uv_run(&loop_, UV_RUN_NOWAIT);
    uv_run(&loop_, UV_RUN_NOWAIT);
    const int result = uv_loop_close(&loop_);
    if (result != 0) {
        uv_walk(
            &loop_,
            [](uv_handle_t* handle, void*) {
                std::fprintf(stderr, "open handle: %s\n", uv_handle_type_name(handle->type));
            },
            nullptr);
    }
    return result;
}

} // namespace sb::test
