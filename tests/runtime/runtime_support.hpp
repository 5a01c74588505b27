#pragma once
// Helpers shared by the runtime lifecycle tests: an endless source, a gate that stalls a stage,
// polling with a timeout, worker threads found by name in /proc, and the item ledger of a linear
// flow. Nothing here makes Catch2 assertions, so any thread may use it.

#include <catch2/catch.hpp>

#include <dirent.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "rill/rill.hpp"
#include "support/stress_config.hpp"

namespace rill::test {

using Clock = std::chrono::steady_clock;

/// How late a call whose contract is a deadline may return on a noisy, shared 2-core VM.
inline Clock::duration deadline_slack() {
    return kSlowBuild ? std::chrono::seconds(10) : std::chrono::seconds(2);
}

/// Polls `pred` until it holds or `timeout` passes; returns its last value.
template <class Pred>
bool eventually(Pred pred, Clock::duration timeout = std::chrono::seconds(30)) {
    const auto until = Clock::now() + timeout;
    for (;;) {
        if (pred()) return true;
        if (Clock::now() >= until) return pred();
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
}

/// A polling source that never ends: T(0), T(1), T(2), ...
template <class T>
struct EndlessSource {
    using value_type = T;
    std::uint64_t next = 0;
    rill::SourceStatus poll(rill::Emitter<T>& out, std::size_t max) {
        for (std::size_t i = 0; i < max; ++i)
            out.emit(T(next++));
        return rill::SourceStatus::more;
    }
};

/// Stalls whoever calls pass() while it is closed; the test opens it.
struct Gate {
    std::atomic<bool> open{true};
    std::atomic<bool> someone_waiting{false};
    void pass() noexcept {
        // acquire: the opener's writes before open=true are visible after the wait.
        if (open.load(std::memory_order_acquire)) return;
        someone_waiting.store(true);
        while (!open.load(std::memory_order_acquire))
            std::this_thread::yield();
    }
};

/// Opens a gate when it goes out of scope, so that a failed REQUIRE cannot leave a stage stalled
/// while ~Run waits for it. Declare it after the Run.
struct OpenOnExit {
    Gate& gate;
    ~OpenOnExit() { gate.open.store(true, std::memory_order_release); }
};

// ---- worker threads in /proc ----------------------------------------------------------------

struct ThreadInfo {
    pid_t tid = 0;
    std::string name;
};

inline std::vector<ThreadInfo> process_threads() {
    std::vector<ThreadInfo> out;
    DIR* dir = opendir("/proc/self/task");
    if (dir == nullptr) return out;
    while (const dirent* e = readdir(dir)) {
        if (e->d_name[0] == '.') continue;
        ThreadInfo t;
        t.tid = static_cast<pid_t>(std::stol(e->d_name));
        std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
        std::getline(comm, t.name);
        out.push_back(std::move(t));
    }
    closedir(dir);
    return out;
}

/// The tid of the thread called `name`, if exactly one has that name.
inline std::optional<pid_t> thread_named(const std::string& name) {
    std::optional<pid_t> found;
    for (const ThreadInfo& t : process_threads()) {
        if (t.name != name) continue;
        if (found) return std::nullopt;
        found = t.tid;
    }
    return found;
}

/// The scheduler state letter of a thread (R running, S sleeping, ...), or '?'.
inline char thread_state(pid_t tid) {
    std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto paren = line.rfind(')');
    if (paren == std::string::npos || paren + 2 >= line.size()) return '?';
    return line[paren + 2];
}

/// True once the thread is asleep in the kernel (parked), checked a few times in a row so that a
/// passing sleep is not taken for a park.
inline bool parks(pid_t tid, Clock::duration timeout = std::chrono::seconds(30)) {
    int in_a_row = 0;
    return eventually(
        [&] {
            in_a_row = thread_state(tid) == 'S' ? in_a_row + 1 : 0;
            return in_a_row >= 5;
        },
        timeout);
}

// ---- accounting -----------------------------------------------------------------------------

/// The accounting of a linear, one-item-per-item flow (source, maps, sink) after its end.
struct Ledger {
    std::uint64_t entered = 0;     ///< source's in: items produced or taken from an inlet
    std::uint64_t delivered = 0;   ///< the last stage's out
    std::uint64_t dropped = 0;     ///< dropped_on_cancel over every stage
    std::uint64_t lost_edges = 0;  ///< edges where upstream emitted != downstream in
    bool balanced = false;         ///< in == out + filtered + errored + dropped for every stage
    std::string problem;           ///< the first unbalanced stage or edge, for INFO

    [[nodiscard]] bool closes() const noexcept {
        return balanced && lost_edges == 0 && entered == delivered + dropped;
    }
};

inline Ledger ledger(const FlowMetrics& m) {
    Ledger l;
    l.balanced = true;
    if (m.stages.empty()) return l;
    l.entered = m.stages.front().in;
    l.delivered = m.stages.back().out;
    for (std::size_t i = 0; i < m.stages.size(); ++i) {
        const StageMetrics& s = m.stages[i];
        l.dropped += s.dropped_on_cancel;
        if (!s.balanced()) {
            l.balanced = false;
            if (l.problem.empty()) l.problem = "stage '" + s.name + "' is not balanced";
        }
        if (i + 1 < m.stages.size() && s.emitted != m.stages[i + 1].in) {
            ++l.lost_edges;
            if (l.problem.empty()) {
                l.problem = "'" + s.name + "' emitted " + std::to_string(s.emitted) + " but '" +
                            m.stages[i + 1].name + "' received " +
                            std::to_string(m.stages[i + 1].in);
            }
        }
    }
    return l;
}

inline std::string describe(const FlowMetrics& m) {
    std::ostringstream out;
    out << m;
    return out.str();
}

inline std::string describe(const StopReport& r) {
    std::ostringstream out;
    out << "drained=" << r.drained << " in_flight={";
    for (const auto& f : r.in_flight)
        out << " " << f.stage << "(queued " << f.queued << ", held upstream " << f.held_upstream
            << ", in_stage " << f.in_stage << ")";
    out << " }";
    return out.str();
}

}  // namespace rill::test

namespace Catch {
template <>
struct StringMaker<rill::RunStatus> {
    static std::string convert(rill::RunStatus s) { return std::string(rill::to_string(s)); }
};
}  // namespace Catch
