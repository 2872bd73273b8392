#pragma once

#include <chrono>

namespace sb::delivery {

// The pace of injections into one worker (DESIGN's "throttle"). The delay
// starts at `min`. A verified delivery clears the failure count, and every
// third consecutive one halves the delay (never below `min`). An unverified
// delivery resets the success streak and leaves the delay as it is. A
// failure resets the streak and steps the delay through 100, 200, 500,
// 1000, 2000, 5000 ms, never above `max`.
class Throttle {
public:
    enum class Result { Verified, Unverified, Failed };

    Throttle(std::chrono::milliseconds min, std::chrono::milliseconds max);

    void record(Result result);
    std::chrono::milliseconds delay() const { return delay_; }
    int failures() const { return failures_; }
    int streak() const { return streak_; }

private:
    std::chrono::milliseconds min_;
    std::chrono::milliseconds max_;
    std::chrono::milliseconds delay_;
    int streak_ = 0;
    int failures_ = 0;
};

} // namespace sb::delivery
