#include "delivery/dispatcher.hpp"

#include <algorithm>

#include "term/screen.hpp"
#include "util/log.hpp"

namespace sb::delivery {

namespace {

std::shared_ptr<spdlog::logger> logger() {
    static auto log = sb::log::get("delivery");
    return log;
}

long long ms_between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

bool screen_matches(const term::Screen& screen, const std::optional<util::Regex>& pattern) {
    return pattern && screen_shows(screen, *pattern);
}

// Profiles' patterns come from the workspace file (checked when it is
// loaded) and the built-in table; compiled once, not on every output.
std::optional<util::Regex> compile(const std::string& pattern) {
    if (pattern.empty()) {
        return std::nullopt;
    }
    return util::Regex(pattern);
}

// The submit key is pressed again at most this often for one delivery.
constexpr int max_presses = 2;

// Deliveries followed past their echo at most; the oldest of those only
// waiting to be accepted stop being followed beyond it.
constexpr std::size_t max_followed = 64;

// The line typed before a delivery's body: who sent it and its id, and for
// a reply the delivery it answers.
std::string header_of(const Delivery& d) {
    std::string header = "[from " + d.from + " · " + d.id;
    if (!d.reply_to.empty()) {
        header += " · reply to " + d.reply_to;
    }
    return header + "]";
}

// What shows a delivery in the composer: its header, or without one the
// start of its first line.
std::string needle_of(const Delivery& d, bool header) {
    if (header) {
        return header_of(d);
    }
    std::string line = d.body.substr(0, d.body.find('\n'));
    line = line.substr(0, line.find_last_not_of(" \t") + 1);
    line = line.substr(std::min(line.size(), line.find_first_not_of(" \t")));
    std::size_t cut = std::min<std::size_t>(line.size(), 40);
    while (cut > 0 && cut < line.size() && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) {
        --cut;
    }
    return line.substr(0, cut);
}

// The composer's lines joined without separators, so that text the program
// wrapped across lines reads as typed.
std::string composer_text(const term::Screen& screen, const std::optional<util::Regex>& composer) {
    std::string text;
    for (const auto& line : composer_lines(screen, composer)) {
        text += line;
    }
    return text;
}

// A header of ours, as the composer would show it.
const util::Regex& any_header() {
    static const util::Regex header(R"(\[from [^\]]+ · d-[0-9]+\])");
    return header;
}

} // namespace

std::string to_string(Outcome outcome) {
    switch (outcome) {
    case Outcome::None:
        return "none";
    case Outcome::Verified:
        return "verified";
    case Outcome::Unverified:
        return "unverified";
    case Outcome::Failed:
        return "failed";
    case Outcome::Dropped:
        return "dropped";
    }
    return "none";
}

Dispatcher::Dispatcher(uv_loop_t* loop, std::string worker, Settings settings, WorkerPort port,
                       EventSink events, Journal journal)
    : loop_(loop), worker_(std::move(worker)), settings_(std::move(settings)),
      port_(std::move(port)), events_(std::move(events)), journal_(std::move(journal)),
      throttle_(settings_.throttle_min, settings_.throttle_max),
      ready_pattern_(compile(settings_.profile.ready_pattern)),
      busy_pattern_(compile(settings_.profile.busy_pattern)),
      composer_pattern_(compile(settings_.profile.composer_pattern)),
      placeholder_pattern_(compile(settings_.profile.placeholder_pattern)), timer_(loop) {
    if (!journal_.commit) {
        journal_.commit = [](const Delivery&) { return true; };
    }
    if (!journal_.record) {
        journal_.record = [](const Delivery&) {};
    }
    if (!port_.person_draft) {
        port_.person_draft = [] { return false; };
    }
}

Dispatcher::~Dispatcher() = default;

void Dispatcher::set_settings(Settings settings) {
    settings_ = std::move(settings);
    throttle_ = Throttle(settings_.throttle_min, settings_.throttle_max);
    ready_pattern_ = compile(settings_.profile.ready_pattern);
    busy_pattern_ = compile(settings_.profile.busy_pattern);
    composer_pattern_ = compile(settings_.profile.composer_pattern);
    placeholder_pattern_ = compile(settings_.profile.placeholder_pattern);
    busy_shown_.reset();
    busy_rows_.clear();
    pump();
}

nlohmann::json Dispatcher::queued_fields(const Delivery& delivery, bool restored) {
    nlohmann::json fields = {
        {"id", delivery.id}, {"from", delivery.from}, {"bytes", delivery.body.size()}};
    if (delivery.removed_bytes > 0) {
        fields["removed_bytes"] = delivery.removed_bytes;
    }
    if (restored) {
        fields["restored"] = true;
    }
    if (!delivery.redelivery.empty()) {
        fields["redelivery"] = true;
        fields["reason"] = delivery.redelivery;
    }
    return fields;
}

void Dispatcher::enqueue(Delivery delivery, bool restored) {
    auto fields = queued_fields(delivery, restored);
    while (static_cast<int>(depth()) >= settings_.max_pending && !queue_.empty()) {
        Delivery evicted = std::move(queue_.front());
        queue_.pop_front();
        drop(evicted, "queue_full");
    }
    queue_.push_back(std::move(delivery));
    events_("delivery_queued", std::move(fields));
    pump();
}

std::vector<Delivery> Dispatcher::evictions(std::size_t incoming) const {
    std::vector<Delivery> out;
    const auto after = depth() + incoming;
    const auto limit = static_cast<std::size_t>(std::max(settings_.max_pending, 0));
    for (std::size_t i = 0; after > limit + i && i < queue_.size(); ++i) {
        Delivery d = queue_[i];
        mark_dropped(d, "queue_full");
        out.push_back(std::move(d));
    }
    return out;
}

void Dispatcher::drop(Delivery& delivery, const std::string& reason) {
    mark_dropped(delivery, reason);
    journal_.record(delivery);
    events_("delivery_dropped", {{"id", delivery.id}, {"from", delivery.from}, {"reason", reason}});
}

CancelResult Dispatcher::cancel(const std::string& id, const std::string& reason) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (it->id == id) {
            Delivery gone = *it;
            mark_dropped(gone, reason);
            if (!journal_.commit(gone)) {
                return CancelResult::NotSaved;
            }
            queue_.erase(it);
            events_("delivery_dropped", {{"id", gone.id}, {"from", gone.from}, {"reason", reason}});
            pump();
            return CancelResult::Cancelled;
        }
    }
    for (auto it = followed_.begin(); it != followed_.end(); ++it) {
        if (it->delivery.id == id) {
            Delivery given_up = it->delivery;
            given_up.state = "cancelled";
            given_up.state_reason = reason;
            ++given_up.state_sequence;
            if (!journal_.commit(given_up)) {
                return CancelResult::NotSaved;
            }
            followed_.erase(it);
            events_("delivery_state", {{"id", given_up.id},
                                       {"from", given_up.from},
                                       {"state", "cancelled"},
                                       {"reason", reason},
                                       {"sequence", given_up.state_sequence}});
            pump();
            return CancelResult::Cancelled;
        }
    }
    return CancelResult::NotQueued;
}

bool Dispatcher::nudge(const std::string& id) {
    for (auto& f : followed_) {
        if (f.delivery.id != id) {
            continue;
        }
        const auto now = Clock::now();
        press_submit();
        events_("delivery_nudged", {{"id", id}, {"from", f.delivery.from}});
        if (f.in_composer()) {
            // Pressed by a person's request: no further presses of our own.
            f.phase = Phase::Submitting;
            f.presses = max_presses;
            f.deadline = now + settings_.profile.submit_timeout;
        } else {
            f.phase = Phase::Accepting;
            f.deadline = now + settings_.profile.accept_timeout;
        }
        pump();
        return true;
    }
    return false;
}

void Dispatcher::on_replied(const std::string& id, int sequence) {
    for (auto it = followed_.begin(); it != followed_.end(); ++it) {
        if (it->delivery.id == id) {
            followed_.erase(it);
            break;
        }
    }
    if (in_flight_ && in_flight_->id == id) {
        in_flight_->state_sequence = sequence;
    }
    for (auto& d : queue_) {
        if (d.id == id) {
            d.state_sequence = sequence;
        }
    }
    pump();
}

std::size_t Dispatcher::stalled() const {
    return static_cast<std::size_t>(std::count_if(
        followed_.begin(), followed_.end(), [](auto& f) { return f.phase == Phase::Stalled; }));
}

void Dispatcher::shutdown(std::string_view why) {
    stopping_ = true;
    timer_.stop();
    std::vector<Delivery> back;
    for (auto it = followed_.begin(); it != followed_.end();) {
        if (it->in_composer()) {
            back.push_back(std::move(it->delivery));
            it = followed_.erase(it);
        } else {
            ++it;
        }
    }
    if (in_flight_) {
        back.push_back(std::move(*in_flight_));
        in_flight_.reset();
        verifier_.reset();
    }
    // The worker process ends with the server; the next one has seen none
    // of these, so each is typed in again (its attempts keep counting).
    for (auto it = back.rbegin(); it != back.rend(); ++it) {
        Delivery& d = *it;
        mark_queued(d);
        journal_.record(d);
        logger()->info("{}: {} goes back to the queue: {}", worker_, d.id, why);
        queue_.push_front(std::move(d));
    }
}

std::deque<Delivery> Dispatcher::take_queued() {
    auto taken = std::move(queue_);
    queue_.clear();
    waiting_for_.clear();
    if (!in_flight_) {
        timer_.stop();
    }
    return taken;
}

void Dispatcher::hold() {
    if (!held_) {
        held_ = true;
        events_("worker_held", {{"reason", "requested"}});
    }
}

void Dispatcher::release() {
    if (held_) {
        held_ = false;
        events_("worker_released", {});
        pump();
    }
}

void Dispatcher::on_worker_started() {
    busy_shown_.reset();
    busy_rows_.clear();
    running_ = true;
    ready_ = false;
    run_started_ = Clock::now();
    pump();
}

void Dispatcher::on_worker_stopped() {
    busy_shown_.reset();
    busy_rows_.clear();
    running_ = false;
    ready_ = false;
    // A message that never left the composer of a process that is gone is
    // typed into the next one; the others are no longer followed.
    std::vector<Delivery> back;
    for (auto& f : followed_) {
        if (f.in_composer()) {
            back.push_back(std::move(f.delivery));
        }
    }
    followed_.clear();
    for (auto it = back.rbegin(); it != back.rend(); ++it) {
        requeue(std::move(*it), "the worker stopped before it submitted the message");
    }
    if (in_flight_ && in_flight_->stage == Stage::Injecting) {
        // on_written(false) follows from the worker's write queue.
        return;
    }
    if (in_flight_ && in_flight_->stage == Stage::Verifying) {
        // It was typed in full into a process that is gone; whether it was
        // read is unknowable, so it is reported unverified, not typed again.
        finish(Outcome::Unverified, "the worker stopped before its echo was seen");
    }
}

void Dispatcher::on_output() {
    if (!followed_.empty()) {
        follow_up();
    }
    if (in_flight_ && in_flight_->stage == Stage::Verifying && verifier_ &&
        verifier_->seen(port_.screen())) {
        finish(Outcome::Verified, "");
        return;
    }
    if (!queue_.empty() && !in_flight_) {
        // The output may have made the worker ready or not busy; the idle
        // timer (if armed) already covers quiet time, so only re-check
        // readiness here and leave the rest to the timer.
        if (!ready_) {
            check_ready();
            if (ready_) {
                pump();
            }
        } else if (waiting_for_ == "busy" || waiting_for_ == "submitting" ||
                   waiting_for_ == "draft" || waiting_for_ == "composer") {
            pump();
        }
    }
}

void Dispatcher::check_ready() {
    if (ready_ || !running_) {
        return;
    }
    if (!ready_pattern_) {
        ready_ = true;
        events_("worker_ready", {{"reason", "running"}});
        return;
    }
    if (screen_matches(port_.screen(), ready_pattern_)) {
        ready_ = true;
        events_("worker_ready", {{"reason", "pattern"}});
        return;
    }
    if (Clock::now() - run_started_ >= settings_.ready_timeout) {
        ready_ = true;
        events_("worker_ready", {{"reason", "timeout"}});
    }
}

bool Dispatcher::busy() const {
    return !settings_.profile.queues_input && shows_busy_pattern();
}

bool Dispatcher::shows_busy_pattern() const {
    if (!busy_pattern_) {
        return false;
    }
    const auto& screen = port_.screen();
    if (!busy_shown_ || busy_shown_->screen != &screen ||
        busy_shown_->generation != screen.generation()) {
        const auto lines = screen.visible_lines();
        busy_rows_.resize(lines.size());
        bool shows = false;
        for (std::size_t row = 0; row < lines.size() && !shows; ++row) {
            auto& known = busy_rows_[row];
            if (!known || known->text != lines[row]) {
                known = RowShown{lines[row], busy_pattern_->found_in(lines[row])};
            }
            shows = known->shows;
        }
        busy_shown_ = Shown{&screen, screen.generation(), shows};
    }
    return busy_shown_->shows;
}

std::string Dispatcher::waiting_for() const {
    return waiting_for_;
}

void Dispatcher::schedule(Clock::time_point when) {
    if (timer_.active() && timer_at_ <= when) {
        return;
    }
    timer_at_ = when;
    const auto delay = std::max<long long>(0, ms_between(Clock::now(), when) + 1);
    timer_.start(std::chrono::milliseconds(delay), [this] { pump(); });
}

Dispatcher::Gate Dispatcher::gate(Clock::time_point now) const {
    if (!port_.running() || !running_) {
        return {"not running"};
    }
    if (!ready_) {
        return {"not ready", run_started_ + settings_.ready_timeout};
    }
    if (held_) {
        return {"held"};
    }
    const auto keystroke = port_.last_keystroke();
    if (keystroke.time_since_epoch().count() != 0 && now - keystroke < settings_.hold) {
        return {"typing", keystroke + settings_.hold};
    }
    if (auto reason = composer_busy(); !reason.empty()) {
        // Re-checked on output and on the follow-up's deadlines.
        return {std::move(reason)};
    }
    // The previous delivery's Enter counts as activity: the worker may not
    // have shown yet that it is busy with that message.
    const auto quiet_since = std::max(port_.last_output(), last_finished_);
    if (now - quiet_since < settings_.idle) {
        return {"output", quiet_since + settings_.idle};
    }
    if (last_finished_.time_since_epoch().count() != 0 &&
        now - last_finished_ < throttle_.delay()) {
        return {"throttle", last_finished_ + throttle_.delay()};
    }
    if (busy()) {
        // Re-checked on output; the screen changes when the work ends.
        return {"busy"};
    }
    return {};
}

void Dispatcher::pump() {
    if (stopping_) {
        waiting_for_ = "server stopping";
        return;
    }
    follow_up();
    const auto now = Clock::now();
    if (in_flight_) {
        if (in_flight_->stage == Stage::Verifying) {
            if (now >= verify_deadline_) {
                finish(Outcome::Unverified, "echo not seen within " +
                                                std::to_string(settings_.verify_timeout.count()) +
                                                " ms");
                return;
            }
            schedule(verify_deadline_);
        }
        return;
    }
    if (queue_.empty()) {
        waiting_for_.clear();
        return;
    }
    if (!port_.running() || !running_) {
        waiting_for_ = "not running";
        return;
    }
    check_ready();
    auto closed = gate(now);
    if (!closed.waiting_for.empty()) {
        waiting_for_ = std::move(closed.waiting_for);
        if (closed.open_at) {
            schedule(*closed.open_at);
        }
        return;
    }
    waiting_for_.clear();
    inject();
}

std::optional<Delivery> Dispatcher::typed_at_once(const Delivery& incoming) {
    // What pump() would look at before deciding, brought up to date as it
    // would bring it.
    if (stopping_ || in_flight_ || !queue_.empty() || expired(incoming, SystemClock::now())) {
        return std::nullopt;
    }
    follow_up();
    if (!port_.running() || !running_) {
        return std::nullopt;
    }
    check_ready();
    if (!gate(Clock::now()).waiting_for.empty()) {
        return std::nullopt;
    }
    return injecting(incoming);
}

Delivery Dispatcher::injecting(Delivery d) {
    d.stage = Stage::Injecting;
    ++d.attempts;
    d.injected_at = Clock::now();
    d.injected_wall = SystemClock::now();
    return d;
}

void Dispatcher::enqueue_typed(Delivery injecting) {
    events_("delivery_queued", queued_fields(injecting, false));
    store_failures_ = 0;
    waiting_for_.clear();
    type(std::move(injecting));
}

void Dispatcher::inject() {
    // One whose time to live (send --ttl) has passed is never typed, even
    // when this comes before the server's expiry timer.
    if (expired(queue_.front(), SystemClock::now())) {
        Delivery stale = std::move(queue_.front());
        queue_.pop_front();
        drop(stale, "expired");
        pump();
        return;
    }
    // Typed only once the store has it as being typed: after a crash it is
    // then known to have reached a worker process that died with the server.
    Delivery next = injecting(queue_.front());
    if (!journal_.commit(next)) {
        ++store_failures_;
        const auto backoff = std::min<long long>(5000, 100LL << std::min(store_failures_, 6));
        waiting_for_ = "store";
        schedule(Clock::now() + std::chrono::milliseconds(backoff));
        return;
    }
    store_failures_ = 0;
    queue_.pop_front();
    type(std::move(next));
}

void Dispatcher::type(Delivery next) {
    in_flight_ = std::move(next);
    Delivery& d = *in_flight_;
    const Profile& profile = settings_.profile;
    const std::string header = profile.header ? header_of(d) + " " : "";
    verifier_.emplace(header, d.body, placeholder_pattern_);
    verifier_->take_baseline(port_.screen());

    std::vector<WorkerPort::Segment> segments;
    std::string body;
    const bool paste = profile.paste && port_.screen().bracketed_paste();
    if (paste) {
        // The header stays outside the paste so it shows even where the
        // application collapses a paste into a placeholder.
        body = "\x1b[200~" + d.body + "\x1b[201~";
    } else {
        for (const char c : d.body) {
            body += c == '\n' ? profile.typed_newline : std::string(1, c);
        }
    }
    // With wait_for_echo each step waits for the program to show the one
    // before it, up to verify_timeout; a callback left with the worker checks
    // that this dispatcher and this delivery's verifier still exist.
    const auto shows = [this, alive = std::weak_ptr<int>(lifetime_),
                        id = d.id](bool whole) -> std::function<bool()> {
        return [this, alive, id, whole] {
            if (alive.expired() || !verifier_ || !in_flight_ || in_flight_->id != id) {
                return true;
            }
            return whole ? verifier_->seen(port_.screen()) : verifier_->header_seen(port_.screen());
        };
    };
    const bool wait = profile.wait_for_echo;
    if (!header.empty() && (profile.body_delay.count() > 0 || wait)) {
        segments.push_back({header, std::chrono::milliseconds(0), nullptr, {}});
        segments.push_back({std::move(body), profile.body_delay, wait ? shows(false) : nullptr,
                            settings_.verify_timeout});
    } else {
        segments.push_back({header + body, std::chrono::milliseconds(0), nullptr, {}});
    }
    segments.push_back({profile.submit_key, profile.enter_delay, wait ? shows(true) : nullptr,
                        settings_.verify_timeout});
    nlohmann::json fields = {{"id", d.id}, {"attempt", d.attempts}};
    if (!d.redelivery.empty()) {
        fields["redelivery"] = true;
        fields["reason"] = d.redelivery;
        d.redelivery.clear();
    }
    events_("delivery_injected", std::move(fields));
    const std::string id = d.id;
    port_.write_unit(std::move(segments),
                     [this, id, alive = std::weak_ptr<int>(lifetime_)](bool written) {
                         if (alive.expired()) {
                             return;
                         }
                         if (in_flight_ && in_flight_->id == id) {
                             on_written(written);
                         }
                     });
}

void Dispatcher::on_written(bool ok) {
    if (!ok) {
        finish(Outcome::Failed, "the worker's terminal closed while the message was typed");
        return;
    }
    in_flight_->stage = Stage::Verifying;
    verify_deadline_ = Clock::now() + settings_.verify_timeout;
    if (verifier_ && verifier_->seen(port_.screen())) {
        finish(Outcome::Verified, "");
        return;
    }
    schedule(verify_deadline_);
}

void Dispatcher::finish(Outcome outcome, const std::string& reason) {
    Delivery d = std::move(*in_flight_);
    in_flight_.reset();
    verifier_.reset();
    timer_.stop();
    last_finished_ = Clock::now();
    const auto latency = ms_between(d.injected_at, last_finished_);
    logger()->info("{}: {} from {} {} after {} ms{}{}", worker_, d.id, d.from, to_string(outcome),
                   latency, reason.empty() ? "" : ": ", reason);
    // The store has the outcome before anyone hears of it.
    d.outcome = outcome;
    d.reason = reason;
    d.latency_ms = latency;
    d.finished_at = SystemClock::now();
    d.stage = Stage::Done;
    switch (outcome) {
    case Outcome::Verified: {
        throttle_.record(Throttle::Result::Verified);
        // Followed on: its Enter was pressed, it has yet to leave the
        // composer.
        d.state = "typed";
        journal_.record(d);
        events_("delivery_verified",
                {{"id", d.id}, {"verification", "echo"}, {"latency_ms", latency}});
        Followed f;
        f.needle = needle_of(d, settings_.profile.header);
        f.delivery = std::move(d);
        f.deadline = last_finished_ + settings_.profile.submit_timeout;
        followed_.push_back(std::move(f));
        break;
    }
    case Outcome::Unverified:
        throttle_.record(Throttle::Result::Unverified);
        journal_.record(d);
        events_("delivery_verified", {{"id", d.id},
                                      {"verification", "timeout_fallback"},
                                      {"reason", reason},
                                      {"latency_ms", latency}});
        break;
    case Outcome::Failed:
        throttle_.record(Throttle::Result::Failed);
        requeue(std::move(d), reason);
        break;
    case Outcome::None:
    case Outcome::Dropped:
        break;
    }
    pump();
}

void Dispatcher::requeue(Delivery d, const std::string& reason) {
    mark_queued(d);
    if (d.attempts >= settings_.max_attempts) {
        drop(d, "max_attempts");
        return;
    }
    journal_.record(d);
    events_("delivery_failed",
            {{"id", d.id}, {"reason", reason}, {"retry_in_ms", throttle_.delay().count()}});
    queue_.push_front(std::move(d));
}

void Dispatcher::press_submit() {
    port_.write_unit({{settings_.profile.submit_key, std::chrono::milliseconds(0), nullptr, {}}},
                     [](bool) {});
}

void Dispatcher::set_state(Followed& f, const std::string& state, const std::string& reason,
                           bool save) {
    Delivery& d = f.delivery;
    d.state = state;
    d.state_reason = reason;
    ++d.state_sequence;
    if (save) {
        journal_.record(d);
    }
    nlohmann::json fields = {
        {"id", d.id}, {"from", d.from}, {"state", state}, {"sequence", d.state_sequence}};
    if (!reason.empty()) {
        fields["reason"] = reason;
    }
    if (f.presses > 0 && state != "accepted") {
        fields["presses"] = f.presses;
    }
    logger()->info("{}: {} {}{}{}", worker_, d.id, state, reason.empty() ? "" : ": ", reason);
    events_("delivery_state", std::move(fields));
}

void Dispatcher::follow_up() {
    if (followed_.empty() || !port_.running()) {
        return;
    }
    const auto now = Clock::now();
    const auto& profile = settings_.profile;
    const auto& screen = port_.screen();
    // Read from the screen once for all the followed deliveries, and only
    // when one needs it: this runs on every read of the worker's output.
    std::optional<std::string> composer;
    const auto in_composer = [&](const std::string& needle) {
        if (!composer) {
            composer = composer_text(screen, composer_pattern_);
        }
        return !needle.empty() && composer->find(needle) != std::string::npos;
    };
    std::optional<Clock::time_point> next;
    for (auto it = followed_.begin(); it != followed_.end();) {
        Followed& f = *it;
        if (f.in_composer()) {
            if (!in_composer(f.needle)) {
                // Without an accept_timeout, submitted is accepted: the store
                // gets the two in one write, so that a crash between them
                // cannot leave it submitted for good.
                const bool accepted_at_once = profile.accept_timeout.count() == 0;
                set_state(f, "submitted", "", !accepted_at_once);
                f.phase = Phase::Accepting;
                f.submitted_at = now;
                f.deadline = now + profile.accept_timeout;
                if (accepted_at_once) {
                    set_state(f, "accepted");
                    it = followed_.erase(it);
                    continue;
                }
            } else if (f.phase == Phase::Submitting && now >= f.deadline) {
                // Pressed again only while what sits there is ours alone:
                // nobody has typed into the worker since it was typed.
                const bool typed_over = port_.last_keystroke() > f.delivery.injected_at;
                if (f.presses < max_presses && !typed_over) {
                    ++f.presses;
                    logger()->info("{}: {} still in the composer after {} ms; submit pressed "
                                   "again ({} of {})",
                                   worker_, f.delivery.id, profile.submit_timeout.count(),
                                   f.presses, max_presses);
                    press_submit();
                    f.deadline = now + profile.submit_timeout;
                } else {
                    f.phase = Phase::Stalled;
                    set_state(f, "stalled", typed_over ? "person_typing" : "not_submitted");
                }
            }
        }
        if (!f.in_composer()) {
            const bool taken =
                busy_pattern_ ? shows_busy_pattern() : port_.last_output() > f.submitted_at;
            if (taken) {
                set_state(f, "accepted");
                it = followed_.erase(it);
                continue;
            }
            if (f.phase == Phase::Accepting && now >= f.deadline) {
                f.phase = Phase::Stalled;
                set_state(f, "stalled", "not_accepted");
            }
        }
        if (f.phase != Phase::Stalled && (!next || f.deadline < *next)) {
            next = f.deadline;
        }
        ++it;
    }
    // Beyond the limit, the oldest only waiting to be taken are let go
    // (their state stays as last saved).
    for (auto it = followed_.begin(); followed_.size() > max_followed && it != followed_.end();) {
        it = it->in_composer() ? std::next(it) : followed_.erase(it);
    }
    if (next) {
        schedule(*next);
    }
}

std::string Dispatcher::composer_busy() const {
    for (const auto& f : followed_) {
        if (f.in_composer()) {
            // The previous message has yet to leave the composer; typing
            // this one after it would send both as one.
            return f.phase == Phase::Stalled ? "stalled" : "submitting";
        }
    }
    const auto& screen = port_.screen();
    if (settings_.profile.header) {
        if (any_header().found_in(composer_text(screen, composer_pattern_))) {
            // One of ours sits there, given up on (cancelled): a person
            // clears it or submits it.
            return "composer";
        }
    }
    if (port_.person_draft() && !composer_input(screen, composer_pattern_).empty()) {
        // A person's draft: typing after it and pressing Enter would
        // submit their text as ours.
        return "draft";
    }
    return "";
}

} // namespace sb::delivery
