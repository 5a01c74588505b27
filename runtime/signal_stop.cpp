#include "rill/flow/signal_stop.hpp"

#include <semaphore.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

#include "rill/flow/detail/run_state.hpp"

namespace rill {
namespace {

sem_t g_posted;                     // posted by the handler and by ~SignalStop
std::atomic<int> g_signal{0};       // the signal received; 0: none yet
std::atomic<bool> g_active{false};  // one SignalStop at a time
std::atomic<bool> g_quit{false};    // ~SignalStop: the helper thread returns

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
        for (std::size_t i = 0; i < previous.size(); ++i) {
            sigaction(signals[i], &previous[i], nullptr);
        }
        g_quit.store(true);
        sem_post(&g_posted);
        if (helper.joinable()) helper.join();
        sem_destroy(&g_posted);
    }

    void serve() {
        while (sem_wait(&g_posted) != 0 && errno == EINTR) {
        }
        if (g_quit.load()) return;
        run->request_drain();
        if (!run->wait_until(std::chrono::steady_clock::now() + drain_timeout)) {
            run->request_abort();
        }
    }
};

SignalStop::SignalStop(Run& run, std::chrono::milliseconds drain_timeout, std::vector<int> signals)
    : state_(std::make_unique<State>()) {
    if (!run.state()) throw std::logic_error("rill::SignalStop: the Run was moved from");
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
    sem_init(&g_posted, 0, 0);
    g_signal.store(0);
    g_quit.store(false);
    state_->run = run.state();
    state_->drain_timeout = drain_timeout;
    state_->signals = std::move(signals);
    state_->helper = std::thread([s = state_.get()] { s->serve(); });
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (int s : state_->signals) {
        struct sigaction old {};
        if (sigaction(s, &action, &old) != 0) {
            const int error = errno;
            state_->restore();
            state_.reset();
            g_active.store(false);
            throw std::system_error(error, std::generic_category(),
                                    "rill::SignalStop: cannot handle signal " + std::to_string(s));
        }
        state_->previous.push_back(old);
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
