#include "worker/restart_policy.hpp"

#include <algorithm>

namespace sb::worker {

RestartPolicy::Decision RestartPolicy::on_exit(bool failed, Clock::time_point started,
                                               Clock::time_point now) {
    if (mode_ == workspace::RestartPolicy::Never ||
        (mode_ == workspace::RestartPolicy::OnFailure && !failed)) {
        return {Action::Stay, std::chrono::milliseconds(0)};
    }
    if (now - started >= timing_.healthy_run) {
        next_delay_ = timing_.first_delay;
    }
    while (!recent_restarts_.empty() && now - recent_restarts_.front() >= timing_.crash_window) {
        recent_restarts_.pop_front();
    }
    if (static_cast<int>(recent_restarts_.size()) >= timing_.max_restarts_in_window) {
        return {Action::Park, std::chrono::milliseconds(0)};
    }
    recent_restarts_.push_back(now);
    const auto delay = next_delay_;
    next_delay_ = std::min(next_delay_ * 2, timing_.max_delay);
    return {Action::Restart, delay};
}

void RestartPolicy::reset() {
    next_delay_ = timing_.first_delay;
    recent_restarts_.clear();
}

} // namespace sb::worker
