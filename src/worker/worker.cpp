#include "worker/worker.hpp"

#include <cerrno>
#include <cstring>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pty/pty.hpp"
#include "util/log.hpp"

namespace sb::worker {

namespace {

std::shared_ptr<spdlog::logger> logger() {
    static auto log = sb::log::get("worker");
    return log;
}

// How long the rest of a worker's output may take to arrive after its
// process ended before the processes still holding its terminal are killed.
constexpr std::chrono::milliseconds drain_grace{1000};

// A read callback handles at most this much before giving other workers and
// clients their turn; the poll is level-triggered, so the rest comes next.
constexpr std::size_t read_budget = 1 << 20;

// How reads of a flood are paced: see pace_next_read.
constexpr std::chrono::microseconds read_pace{20};
constexpr std::chrono::milliseconds streaming_gap{1};

} // namespace

bool pace_next_read(std::ptrdiff_t bytes, bool streaming, bool pacing) {
    constexpr std::ptrdiff_t pace_below = 1024;
    return streaming && bytes < (pacing ? pty::full_read : pace_below);
}

std::string_view to_string(State state) {
    switch (state) {
    case State::Starting:
        return "starting";
    case State::Running:
        return "running";
    case State::Exited:
        return "exited";
    case State::Restarting:
        return "restarting";
    case State::Stopped:
        return "stopped";
    case State::Failed:
        return "failed";
    }
    return "unknown";
}

Worker::Worker(uv_loop_t* loop, Reaper& reaper, WorkerConfig config, Listener listener)
    : loop_(loop), reaper_(reaper), config_(std::move(config)), listener_(std::move(listener)),
      policy_(config_.restart, config_.restart_timing),
      screen_(
          std::make_unique<term::Screen>(config_.size.rows, config_.size.cols, config_.scrollback)),
      read_pace_timer_(loop), pause_timer_(loop), wait_timer_(loop), stop_timer_(loop),
      restart_timer_(loop), drain_timer_(loop) {}

Worker::~Worker() {
    if (pid_ > 0 && !exit_seen_) {
        // The server is going away without a graceful stop; leave nothing behind.
        reaper_.forget(pid_);
        pty::signal_session(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    close_pty();
}

void Worker::start() {
    if (state_ == State::Running || state_ == State::Starting) {
        return;
    }
    restart_timer_.stop();
    policy_.reset();
    stop_requested_ = false;
    if (!exit_seen_ || !output_ended_) {
        // The previous run is still ending; it starts again when it has.
        restart_requested_ = true;
        return;
    }
    spawn_now();
}

void Worker::spawn_now() {
    // A new program has an empty composer: no draft of a person's in it.
    person_draft_ = false;
    restart_timer_.stop();
    drain_timer_.stop();
    close_pty();
    set_state(State::Starting);
    // A new run gets a new terminal: the final screen of the last run stays
    // readable only until here.
    screen_ =
        std::make_unique<term::Screen>(config_.size.rows, config_.size.cols, config_.scrollback);
    screen_->set_reply_handler([this](std::string_view reply) { write(reply); });
    ++screen_serial_;
    notify_screen();

    auto opened = pty::open_pty(config_.size.cols, config_.size.rows);
    if (auto* error = std::get_if<pty::PtyError>(&opened)) {
        logger()->error("{}: cannot open a terminal: {}", config_.name, error->message);
        set_state(State::Failed, "cannot open a terminal: " + error->message);
        emit("worker_failed", {{"reason", reason_}});
        return;
    }
    auto& terminal = std::get<pty::Pty>(opened);
    auto spawned = pty::spawn(config_.spawn, terminal.slave.get());
    // The child has its own copy; ours would keep the end of output from
    // ever being seen.
    terminal.slave.reset();
    if (auto* error = std::get_if<pty::SpawnError>(&spawned)) {
        logger()->error("{}: {}", config_.name, error->message);
        set_state(State::Failed, error->message);
        emit("worker_failed", {{"reason", reason_}});
        return;
    }
    pid_ = std::get<pid_t>(spawned);
    master_ = std::move(terminal.master);
    output_ended_ = false;
    exit_seen_ = false;
    fail_pending_writes();
    started_at_ = Clock::now();
    last_output_ = started_at_;
    last_exit_ = {};
    poll_ = std::make_unique<util::Poll>(loop_, master_.get());
    poll_->start(UV_READABLE, [this](int status, int events) { on_poll(status, events); });
    set_state(State::Running);
    logger()->info("{}: started, pid {}", config_.name, pid_);
    emit("worker_started", {{"pid", pid_}});
    // Watching may report at once a child that has already ended, so it
    // comes after the start has been told.
    reaper_.watch(pid_, [this](int wait_status) { on_child_exit(wait_status); });
}

void Worker::on_poll(int status, int events) {
    if (status < 0) {
        // EBADF and friends: the terminal is gone; treat it as the end of output.
        logger()->warn("{}: terminal poll failed: {}", config_.name, uv_strerror(status));
        on_output_end();
        return;
    }
    if ((events & UV_WRITABLE) != 0) {
        flush_writes();
    }
    if ((events & (UV_READABLE | UV_DISCONNECT)) != 0) {
        read_output();
    }
}

void Worker::read_output() {
    constexpr ssize_t short_read = 256;
    char buffer[65536];
    const bool streaming = Clock::now() - last_read_ < streaming_gap;
    bool pace = false;
    std::size_t total = 0;
    while (master_ && !output_ended_ && total < read_budget) {
        const ssize_t n = ::read(master_.get(), buffer, sizeof buffer);
        if (n > 0) {
            total += static_cast<std::size_t>(n);
            screen_->feed(std::string_view(buffer, static_cast<std::size_t>(n)));
            if (pace_next_read(n, streaming, pacing_)) {
                pace = true;
                break;
            }
            if (n < short_read) {
                // An echo or a prompt, not a flood: another read would almost
                // always find nothing, and the poll says when more comes.
                break;
            }
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            break;
        }
        // EIO (no process holds the terminal any more) or 0: the end of output.
        on_output_end();
        break;
    }
    pacing_ = pace;
    if (total > 0) {
        last_output_ = Clock::now();
        last_read_ = last_output_;
        // Reading waits while the timer runs (update_poll).
        if (pace && master_ && !output_ended_ && read_pace_timer_.start(read_pace, [this] {
                update_poll();
                read_output();
            })) {
            ++read_pauses_;
            update_poll();
        }
        if (output_listener_) {
            output_listener_();
        }
        notify_screen();
        if (head_waiting()) {
            flush_writes();
        }
    }
}

void Worker::write(std::string_view bytes) {
    if (bytes.empty() || !master_ || output_ended_) {
        return;
    }
    write_queue_.push_back({std::string(bytes), std::chrono::milliseconds(0), nullptr, nullptr,
                            std::chrono::milliseconds(0)});
    write_queue_bytes_ += bytes.size();
    flush_writes();
}

void Worker::write_unit(std::vector<Segment> segments, std::function<void(bool)> done) {
    if (!master_ || output_ended_) {
        if (done) {
            done(false);
        }
        return;
    }
    for (std::size_t i = 0; i < segments.size(); ++i) {
        const bool last = i + 1 == segments.size();
        write_queue_bytes_ += segments[i].bytes.size();
        write_queue_.push_back({std::move(segments[i].bytes), segments[i].delay_before,
                                last ? std::move(done) : nullptr, std::move(segments[i].wait_for),
                                segments[i].wait_limit});
    }
    flush_writes();
}

bool Worker::head_waiting() const {
    return !write_queue_.empty() && write_queue_.front().wait_for && !head_waited_;
}

void Worker::flush_writes() {
    while (!write_queue_.empty() && master_) {
        PendingWrite& front = write_queue_.front();
        if (front.wait_for && !head_waited_) {
            if (front.wait_for()) {
                head_waited_ = true;
                wait_timer_.stop();
            } else {
                // Everything behind waits with it, as behind a pause.
                if (!wait_timer_.active()) {
                    wait_timer_.start(front.wait_limit, [this] {
                        head_waited_ = true;
                        flush_writes();
                    });
                }
                break;
            }
        }
        if (front.delay_before.count() > 0 && !head_released_) {
            // Everything behind waits with it: that is what keeps a unit whole.
            if (!pause_timer_.active()) {
                pause_timer_.start(front.delay_before, [this] {
                    head_released_ = true;
                    flush_writes();
                });
            }
            break;
        }
        ssize_t n = 0;
        if (write_offset_ < front.bytes.size()) {
            n = ::write(master_.get(), front.bytes.data() + write_offset_,
                        front.bytes.size() - write_offset_);
        }
        if (n >= 0) {
            write_offset_ += static_cast<std::size_t>(n);
            write_queue_bytes_ -= static_cast<std::size_t>(n);
            if (write_offset_ == front.bytes.size()) {
                auto done = std::move(front.done);
                write_queue_.pop_front();
                write_offset_ = 0;
                head_released_ = false;
                head_waited_ = false;
                if (done) {
                    done(true);
                }
            }
            continue;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN) {
            break;
        }
        logger()->warn("{}: writing to the terminal failed: {}; {} bytes dropped", config_.name,
                       std::strerror(errno), write_queue_bytes_);
        fail_pending_writes();
        break;
    }
    update_poll();
}

void Worker::fail_pending_writes() {
    auto pending = std::move(write_queue_);
    write_queue_.clear();
    write_offset_ = 0;
    write_queue_bytes_ = 0;
    head_released_ = false;
    pause_timer_.stop();
    head_waited_ = false;
    wait_timer_.stop();
    for (auto& entry : pending) {
        if (entry.done) {
            entry.done(false);
        }
    }
}

void Worker::update_poll() {
    if (!poll_) {
        return;
    }
    int events = 0;
    if (!output_ended_ && !read_pace_timer_.active()) {
        events |= UV_READABLE;
    }
    if (!write_queue_.empty() &&
        (write_queue_.front().delay_before.count() == 0 || head_released_) && !head_waiting()) {
        events |= UV_WRITABLE;
    }
    if (events != poll_->events()) {
        poll_->change(events);
    }
}

void Worker::on_child_exit(int wait_status) {
    exit_seen_ = true;
    exit_wait_status_ = wait_status;
    if (output_ended_) {
        finish_run();
        return;
    }
    // What the child printed last may still be in the terminal; read it
    // before the exit is reported (reaching the end of output finishes the
    // run from there). Processes it left behind that still hold the
    // terminal get a grace period, then are killed.
    read_output();
    // Reading may have reached the end of output and finished the run, and
    // a restart may have started the next one: the wait is for this run's
    // terminal only.
    if (exit_seen_ && !output_ended_) {
        drain_timer_.start(drain_grace, [this] {
            logger()->info("{}: processes left behind still hold the terminal; killing them",
                           config_.name);
            pty::signal_session(pid_, SIGKILL);
            read_output();
            on_output_end();
        });
    }
}

void Worker::on_output_end() {
    if (output_ended_) {
        return;
    }
    output_ended_ = true;
    update_poll();
    if (exit_seen_) {
        finish_run();
    }
}

void Worker::finish_run() {
    drain_timer_.stop();
    stop_timer_.stop();
    const pid_t ended_pid = pid_;
    // Grandchildren may outlive the exit of the worker's main process; a
    // finished run leaves none of its session behind.
    pty::signal_session(ended_pid, SIGKILL);
    close_pty();

    last_exit_ = {};
    bool failed = true;
    if (WIFEXITED(exit_wait_status_)) {
        last_exit_.code = WEXITSTATUS(exit_wait_status_);
        failed = *last_exit_.code != 0;
    } else if (WIFSIGNALED(exit_wait_status_)) {
        last_exit_.signal = WTERMSIG(exit_wait_status_);
    }
    nlohmann::json fields = {{"pid", ended_pid}};
    fields["code"] = last_exit_.code ? nlohmann::json(*last_exit_.code) : nlohmann::json(nullptr);
    fields["signal"] =
        last_exit_.signal ? nlohmann::json(*last_exit_.signal) : nlohmann::json(nullptr);
    const std::string how = last_exit_.code ? "exit status " + std::to_string(*last_exit_.code)
                            : last_exit_.signal
                                ? std::string("signal ") + ::strsignal(*last_exit_.signal)
                                : std::string("unknown status");
    logger()->info("{}: pid {} ended ({})", config_.name, ended_pid, how);

    if (stop_requested_) {
        stop_requested_ = false;
        set_state(State::Stopped, "stopped by request (" + how + ")");
        emit("worker_exited", fields);
        emit("worker_stopped", {{"reason", reason_}});
        auto waiters = std::move(stop_waiters_);
        stop_waiters_.clear();
        if (restart_requested_) {
            restart_requested_ = false;
            spawn_now();
        }
        for (auto& waiter : waiters) {
            waiter();
        }
        return;
    }
    set_state(State::Exited, how);
    emit("worker_exited", fields);
    if (restart_requested_) {
        restart_requested_ = false;
        spawn_now();
        return;
    }

    const auto decision = policy_.on_exit(failed, started_at_, Clock::now());
    switch (decision.action) {
    case RestartPolicy::Action::Stay:
        break;
    case RestartPolicy::Action::Park:
        set_state(State::Failed, "crash loop: more than " +
                                     std::to_string(policy_.timing().max_restarts_in_window) +
                                     " restarts within " +
                                     std::to_string(policy_.timing().crash_window.count() / 1000) +
                                     " s (last: " + how + ")");
        logger()->warn("{}: {}", config_.name, reason_);
        emit("worker_failed", {{"reason", reason_}});
        break;
    case RestartPolicy::Action::Restart:
        ++restarts_;
        set_state(State::Restarting, how);
        emit("worker_restarting", {{"delay_ms", decision.delay.count()}, {"restarts", restarts_}});
        logger()->info("{}: restarting in {} ms (restart {})", config_.name, decision.delay.count(),
                       restarts_);
        restart_timer_.start(decision.delay, [this] { spawn_now(); });
        break;
    }
}

void Worker::stop(std::function<void()> done, std::optional<std::chrono::milliseconds> timeout) {
    restart_timer_.stop();
    restart_requested_ = false;
    if (exit_seen_ && output_ended_) {
        if (state_ == State::Restarting || state_ == State::Exited || state_ == State::Failed) {
            set_state(State::Stopped, "stopped by request");
            emit("worker_stopped", {{"reason", reason_}});
        }
        if (done) {
            done();
        }
        return;
    }
    if (done) {
        stop_waiters_.push_back(std::move(done));
    }
    if (stop_requested_) {
        return;
    }
    stop_requested_ = true;
    // Nothing more is typed into a program being stopped: a delivery's
    // Enter still waiting for its echo must not reach it (the dispatcher
    // types the message into the next process instead).
    if (!write_queue_.empty()) {
        fail_pending_writes();
    }
    if (!exit_seen_) {
        logger()->info("{}: stopping pid {} (SIGHUP, SIGTERM; SIGKILL after {} ms)", config_.name,
                       pid_, timeout.value_or(config_.stop_timeout).count());
        pty::signal_session(pid_, SIGHUP);
        pty::signal_session(pid_, SIGTERM);
    }
    const auto limit = timeout.value_or(config_.stop_timeout);
    stop_timer_.start(limit, [this, limit] {
        logger()->warn("{}: still running {} ms after SIGTERM; sending SIGKILL", config_.name,
                       limit.count());
        pty::signal_session(pid_, SIGKILL);
    });
}

void Worker::restart(std::function<void()> done) {
    policy_.reset();
    if (exit_seen_ && output_ended_) {
        restart_timer_.stop();
        stop_requested_ = false;
        spawn_now();
        if (done) {
            done();
        }
        return;
    }
    // The stop's waiters run after the next run has started (finish_run).
    stop(std::move(done));
    restart_requested_ = true;
}

void Worker::resize(int cols, int rows) {
    config_.size = {cols, rows};
    screen_->resize(rows, cols);
    if (master_) {
        pty::set_window_size(master_.get(), cols, rows);
    }
    notify_screen();
}

void Worker::close_pty() {
    read_pace_timer_.stop();
    poll_.reset();
    master_.reset();
    fail_pending_writes();
}

void Worker::set_state(State state, std::string reason) {
    state_ = state;
    reason_ = std::move(reason);
}

void Worker::emit(std::string type, nlohmann::json fields) {
    if (listener_) {
        listener_(*this, WorkerEvent{std::move(type), std::move(fields)});
    }
}

void Worker::note_keystroke(std::string_view bytes) {
    last_keystroke_ = Clock::now();
    const auto enter = bytes.find_last_of('\r');
    const auto after = enter == std::string_view::npos ? bytes : bytes.substr(enter + 1);
    if (enter != std::string_view::npos) {
        person_draft_ = false;
    }
    if (!after.empty()) {
        person_draft_ = true;
    }
}

} // namespace sb::worker
