#include "rill/flow/signal_stop.hpp"

#include <semaphore.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

#include "rill/detail/deadline.hpp"
#include "rill/flow/detail/run_state.hpp"

namespace rill {
namespace {

// Posted by the handler and by ~SignalStop. Initialized once and never destroyed: a handler
// already running on another thread may still be inside sem_post when ~SignalStop returns.
sem_t g_posted;
std::atomic<int> g_signal{0};       // the signal received; 0: none yet
std::atomic<bool> g_active{false};  // one SignalStop at a time
std::atomic<bool> g_quit{false};    // ~SignalStop: the helper thread returns

/// The semaphore, initialized on first use; left with no count (posts of an earlier SignalStop
/// that nobody took are taken now).
void reset_posted() noexcept {
    static const bool initialized = sem_init(&g_posted, 0, 0) == 0;
    static_cast<void>(initialized);
    while (sem_trywait(&g_posted) == 0) {
    }
}

extern "C" void on_signal(int signal) {
    // Only async-signal-safe operations here: a lock-free store and sem_post.
    int expected = 0;
    g_signal.compare_exchange_strong(expected, signal);
    sem_post(&g_posted);
}

}  // namespace

struct SignalStop::State {
    std::shared_ptr<detail::RunState> run;
    std::chrono::milliseconds drain_timeout;
    std::vector<int> signals;
    std::vector<struct sigaction> previous;
    std::thread helper;

    /// Puts the previous handlers back and ends the helper thread.
    void restore() noexcept {
        put_back_handlers();
        g_quit.store(true);
        sem_post(&g_posted);
        if (helper.joinable()) helper.join();
    }

    /// First signal: drain. A second signal, or the drain timeout: cancel. Then the previous
    /// handlers come back, so that a third signal does what it did before.
    void serve() {
        while (sem_wait(&g_posted) != 0 && errno == EINTR) {
        }
        if (g_quit.load()) return;
        run->request_stop();
        const auto deadline = detail::deadline_after(drain_timeout);
        for (;;) {
            const auto slice =
                std::min(deadline, detail::deadline_after(std::chrono::milliseconds(20)));
            if (run->wait_until(slice)) break;
            if (g_quit.load()) return;
            if (std::chrono::steady_clock::now() >= deadline || sem_trywait(&g_posted) == 0) {
                run->request_cancel();
                break;
            }
        }
        put_back_handlers();
    }

    void put_back_handlers() noexcept {
        for (std::size_t i = 0; i < previous.size(); ++i) {
            sigaction(signals[i], &previous[i], nullptr);
        }
    }
};

SignalStop::SignalStop(Run& run, std::chrono::milliseconds drain_timeout, std::vector<int> signals)
    : state_(std::make_unique<State>()) {
    if (!run.state_) throw std::logic_error("rill::SignalStop: the Run was moved from");
    if (signals.empty()) throw std::invalid_argument("rill::SignalStop: the signal list is empty");
    for (int s : signals) {
        if (s <= 0 || s >= NSIG || s == SIGKILL || s == SIGSTOP) {
            throw std::invalid_argument("rill::SignalStop: signal " + std::to_string(s) +
                                        " cannot be caught; expected e.g. SIGINT or SIGTERM");
        }
    }
    bool expected = false;
    if (!g_active.compare_exchange_strong(expected, true)) {
        throw std::logic_error("rill::SignalStop: another SignalStop is alive in this process");
    }
    reset_posted();
    g_signal.store(0);
    g_quit.store(false);
    State& s = *state_;
    s.run = run.state_;
    s.drain_timeout = drain_timeout;
    s.signals = std::move(signals);
    // The handlers first, the helper thread after: the helper reads `previous` when it puts
    // them back, so they are complete before it exists. A signal that comes in between only
    // posts the semaphore, which the helper takes when it starts.
    const auto fail = [&] {
        s.put_back_handlers();
        state_.reset();
        g_active.store(false);
    };
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    try {
        s.previous.reserve(s.signals.size());
    } catch (...) {
        fail();
        throw;
    }
    for (int signal : s.signals) {
        struct sigaction old {};
        if (sigaction(signal, &action, &old) != 0) {
            const int error = errno;
            fail();
            throw std::system_error(
                error, std::generic_category(),
                "rill::SignalStop: cannot handle signal " + std::to_string(signal));
        }
        s.previous.push_back(old);  // reserved: does not throw
    }
    try {
        s.helper = std::thread([&s] { s.serve(); });
    } catch (...) {
        fail();
        throw;
    }
}

SignalStop::~SignalStop() {
    state_->restore();
    state_.reset();
    g_active.store(false);
}

int SignalStop::received() const noexcept {
    return g_signal.load();
}

}  // namespace rill
