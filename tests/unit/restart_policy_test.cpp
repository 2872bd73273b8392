#include <doctest/doctest.h>

#include "worker/restart_policy.hpp"

using sb::worker::Clock;
using sb::worker::RestartPolicy;
using Mode = sb::workspace::RestartPolicy;
using namespace std::chrono_literals;

TEST_SUITE("restart") {
    TEST_CASE("never and on-failure with a clean exit stay down") {
        const auto t0 = Clock::time_point{} + 1000s;
        RestartPolicy never(Mode::Never);
        CHECK(never.on_exit(true, t0, t0 + 1s).action == RestartPolicy::Action::Stay);
        RestartPolicy on_failure(Mode::OnFailure);
        CHECK(on_failure.on_exit(false, t0, t0 + 1s).action == RestartPolicy::Action::Stay);
        CHECK(on_failure.on_exit(true, t0, t0 + 1s).action == RestartPolicy::Action::Restart);
        RestartPolicy always(Mode::Always);
        CHECK(always.on_exit(false, t0, t0 + 1s).action == RestartPolicy::Action::Restart);
    }

    TEST_CASE("backoff doubles from 1 s to at most 60 s") {
        // Runs spaced 70 s apart never make a crash loop, and each lasts 1 s,
        // so the backoff is never reset by a healthy run.
        RestartPolicy policy(Mode::Always);
        auto now = Clock::time_point{} + 1000s;
        std::vector<long long> delays;
        for (int i = 0; i < 9; ++i) {
            const auto decision = policy.on_exit(true, now - 1s, now);
            REQUIRE(decision.action == RestartPolicy::Action::Restart);
            delays.push_back(decision.delay.count());
            now += 70s;
        }
        CHECK(delays ==
              std::vector<long long>{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000});
    }

    TEST_CASE("60 s of healthy running resets the backoff") {
        RestartPolicy policy(Mode::Always);
        auto now = Clock::time_point{} + 1000s;
        CHECK(policy.on_exit(true, now - 1s, now).delay == 1000ms);
        now += 2s;
        CHECK(policy.on_exit(true, now - 1s, now).delay == 2000ms);
        now += 3s;
        CHECK(policy.on_exit(true, now - 1s, now).delay == 4000ms);
        now += 70s;
        CHECK(policy.on_exit(true, now - 60s, now).delay == 1000ms);
        now += 2s;
        CHECK(policy.on_exit(true, now - 59s, now).delay == 2000ms);
    }

    TEST_CASE("more than 5 restarts within 60 s park the worker") {
        RestartPolicy policy(Mode::Always);
        auto now = Clock::time_point{} + 1000s;
        for (int i = 0; i < 5; ++i) {
            CHECK(policy.on_exit(true, now - 100ms, now).action == RestartPolicy::Action::Restart);
            now += 5s;
        }
        CHECK(policy.on_exit(true, now - 100ms, now).action == RestartPolicy::Action::Park);
    }

    TEST_CASE("restarts older than the window do not count") {
        RestartPolicy policy(Mode::Always);
        auto now = Clock::time_point{} + 1000s;
        for (int i = 0; i < 20; ++i) {
            CHECK(policy.on_exit(true, now - 100ms, now).action == RestartPolicy::Action::Restart);
            now += 13s;
        }
    }

    TEST_CASE("reset forgets the history") {
        RestartPolicy policy(Mode::Always);
        auto now = Clock::time_point{} + 1000s;
        for (int i = 0; i < 5; ++i) {
            policy.on_exit(true, now, now);
        }
        policy.reset();
        const auto decision = policy.on_exit(true, now, now);
        CHECK(decision.action == RestartPolicy::Action::Restart);
        CHECK(decision.delay == 1000ms);
    }
}
