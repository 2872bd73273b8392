#include "delivery/throttle.hpp"

#include <algorithm>
#include <array>

namespace sb::delivery {

namespace {

// DESIGN's failure steps, in milliseconds.
constexpr std::array<long long, 6> failure_steps = {100, 200, 500, 1000, 2000, 5000};

} // namespace

Throttle::Throttle(std::chrono::milliseconds min, std::chrono::milliseconds max)
    : min_(min), max_(std::max(min, max)), delay_(min) {}

void Throttle::record(Result result) {
    switch (result) {
    case Result::Verified:
        failures_ = 0;
        ++streak_;
        if (streak_ % 3 == 0) {
            delay_ = std::max(min_, delay_ / 2);
        }
        break;
    case Result::Unverified:
        streak_ = 0;
        break;
    case Result::Failed: {
        streak_ = 0;
        ++failures_;
        const auto step = failure_steps[static_cast<std::size_t>(
            std::min<int>(failures_, static_cast<int>(failure_steps.size())) - 1)];
        delay_ = std::clamp(std::chrono::milliseconds(step), min_, max_);
        break;
    }
    }
}

} // namespace sb::delivery
