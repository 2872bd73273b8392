#pragma once

#include <chrono>
#include <deque>

#include "workspace/workspace.hpp"

namespace sb::worker {

using Clock = std::chrono::steady_clock;

// DESIGN's figures; tests pass shorter ones to see a crash loop in
// milliseconds instead of half a minute.
struct RestartTiming {
    std::chrono::milliseconds first_delay{1000};
    std::chrono::milliseconds max_delay{60000};
    std::chrono::milliseconds healthy_run{60000};
    std::chrono::milliseconds crash_window{60000};
    int max_restarts_in_window = 5;
};

// When a worker that ended is started again. DESIGN's "Workers": backoff 1 s
// doubling to 60 s, reset after 60 s of healthy running; more than 5
// restarts within 60 s park the worker as failed.
class RestartPolicy {
public:
    using Timing = RestartTiming;

    enum class Action { Stay, Restart, Park };
    struct Decision {
        Action action = Action::Stay;
        std::chrono::milliseconds delay{0};
    };

    explicit RestartPolicy(workspace::RestartPolicy mode, Timing timing = Timing{})
        : mode_(mode), timing_(timing), next_delay_(timing.first_delay) {}

    // Decides after a run that started at `started` ended at `now`, with
    // `failed` true for a non-zero exit or a death by signal.
    Decision on_exit(bool failed, Clock::time_point started, Clock::time_point now);

    // Forgets the history (a person restarted or started the worker by hand).
    void reset();

    void set_mode(workspace::RestartPolicy mode) { mode_ = mode; }
    const Timing& timing() const { return timing_; }

private:
    workspace::RestartPolicy mode_;
    Timing timing_;
    std::chrono::milliseconds next_delay_;
    std::deque<Clock::time_point> recent_restarts_;
};

} // namespace sb::worker
