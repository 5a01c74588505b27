#pragma once
// ProgressWatchdog: turns a lost item into a failure within seconds instead of a hang until the
// ctest timeout. A stress test gives it a progress reading (items consumed so far, say) and a way
// to stop its threads; when the reading has not changed for stall_limit(), the watchdog calls the
// stop on its own thread, and the test then checks stalled() and prints its ledger: which items
// went missing or came twice. If the test is still not over another stall_limit() after that stop
// (a thread that cannot be stopped), the watchdog prints what it knows and aborts.
//
// A stall limit is a bound on the longest pause without a single item of progress, not on a run's
// length: a slow run (a sanitizer, a loaded 2-core machine) still makes progress every few
// milliseconds, so it never fires.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "support/stress_config.hpp"

namespace rill::test {

/// How long a stress test may go without progress before its watchdog stops it: 10 s in
/// optimised builds, 30 s in sanitized and debug ones; RILL_STALL_SECONDS=N overrides.
inline std::chrono::milliseconds stall_limit() {
    if (const char* env = std::getenv("RILL_STALL_SECONDS")) {
        return std::chrono::seconds(std::stoul(env));
    }
    return kSlowBuild ? std::chrono::seconds(30) : std::chrono::seconds(10);
}

class ProgressWatchdog {
  public:
    using Reading = std::function<std::uint64_t()>;
    using Stop = std::function<void()>;

    /// Watches `progress` (any number that grows while the test makes progress) from a thread of
    /// its own; when it has not changed for `limit`, calls `stop` once, from that thread. `what`
    /// names the test in its messages.
    ProgressWatchdog(std::string what, Reading progress, Stop stop,
                     std::chrono::milliseconds limit = stall_limit())
        : what_(std::move(what)),
          progress_(std::move(progress)),
          stop_(std::move(stop)),
          limit_(limit),
          thread_([this] { watch(); }) {}

    /// Watches an atomic counter.
    ProgressWatchdog(std::string what, const std::atomic<std::uint64_t>& counter, Stop stop,
                     std::chrono::milliseconds limit = stall_limit())
        : ProgressWatchdog(
              std::move(what),
              // relaxed: a progress reading; nothing else is read through it.
              [&counter] { return counter.load(std::memory_order_relaxed); }, std::move(stop),
              limit) {}

    ProgressWatchdog(const ProgressWatchdog&) = delete;
    ProgressWatchdog& operator=(const ProgressWatchdog&) = delete;

    /// Stops watching.
    ~ProgressWatchdog() {
        {
            std::lock_guard lock(m_);
            done_ = true;
        }
        cv_.notify_one();
        thread_.join();
    }

    /// True once the watchdog has stopped the test. Call it after the test's threads are joined
    /// (or its run has ended).
    [[nodiscard]] bool stalled() const noexcept { return stalled_.load(); }

    /// "no progress for 10 s at 123456": for the failure message.
    [[nodiscard]] std::string describe() const {
        if (!stalled()) return what_ + ": progressed to the end";
        char text[160];
        std::snprintf(text, sizeof text,
                      ": no progress for %.1f s at %llu; the watchdog stopped it",
                      static_cast<double>(limit_.count()) / 1000,
                      static_cast<unsigned long long>(stalled_at_.load()));
        return what_ + text;
    }

    /// How many watchdogs of this process have stopped their test so far. Once one has, the
    /// configurations after it would only stall again (each costing a stall limit): tests check
    /// this first and fail at once instead.
    [[nodiscard]] static int stalls_so_far() noexcept { return stall_count().load(); }

  private:
    static std::atomic<int>& stall_count() noexcept {
        static std::atomic<int> count{0};
        return count;
    }

    void watch() {
        constexpr auto kPoll = std::chrono::milliseconds(100);
        std::unique_lock lock(m_);
        std::uint64_t last = progress_();
        auto last_change = std::chrono::steady_clock::now();
        while (!cv_.wait_for(lock, kPoll, [this] { return done_; })) {
            const std::uint64_t now_at = progress_();
            if (now_at != last) {
                last = now_at;
                last_change = std::chrono::steady_clock::now();
                continue;
            }
            if (std::chrono::steady_clock::now() - last_change < limit_) continue;
            stalled_at_ = now_at;
            stalled_ = true;
            stall_count().fetch_add(1);
            std::fprintf(stderr, "watchdog: %s\n", describe().c_str());
            lock.unlock();
            stop_();
            lock.lock();
            // The stop must end the test; if it does not, a failure message is all that is left.
            if (!cv_.wait_for(lock, limit_, [this] { return done_; })) {
                std::fprintf(stderr,
                             "watchdog: %s: still not over %.1f s after the watchdog stopped it "
                             "(progress now %llu); aborting\n",
                             what_.c_str(), static_cast<double>(limit_.count()) / 1000,
                             static_cast<unsigned long long>(progress_()));
                std::fflush(stderr);
                std::abort();
            }
            return;
        }
    }

    std::string what_;
    Reading progress_;
    Stop stop_;
    std::chrono::milliseconds limit_;
    std::atomic<bool> stalled_{false};
    std::atomic<std::uint64_t> stalled_at_{0};
    std::mutex m_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;  // last: starts after the members it uses
};

}  // namespace rill::test
