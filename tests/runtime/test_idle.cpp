// Idle cost: a started Runtime with default options whose workers have nothing to do (no flow, a
// flow whose only source is an empty inlet, or a flow that has finished) parks them once their
// spin and yield budget has passed, and then they neither run nor wake: over a second, the
// runtime's threads together use under 1 ms of CPU and none of them is switched in more than
// twice. Then the parked workers still wake for work.
//
// What a parked runtime costs here: its threads' CPU time over a second, once they are asleep,
// read 0 us in every window measured (15 one-second windows, 2 workers, release build, load
// average 4.5 on the 2-core machine); a parked thread does not run, however loaded the machine.
// The budgets leave room for a thread finishing its last park in the window, not for a worker
// that wakes on a timer: one waking every 50 ms is switched in 20 times a second.
// Only the threads the runtime started are measured (the test's own thread, and a sanitizer's
// background thread, run whatever the runtime does).

#include <catch2/catch.hpp>

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "rill/rill.hpp"
#include "runtime/runtime_support.hpp"

using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kCpuBudgetNs = 1'000'000;  // 1 ms for all the runtime's threads in 1 s
constexpr std::uint64_t kSwitchBudget = 2;         // context switches per thread in 1 s

/// What one thread has used so far.
struct ThreadUse {
    pid_t tid = 0;
    std::string name;
    std::uint64_t cpu_ns = 0;       // time on a CPU (schedstat)
    std::uint64_t voluntary = 0;    // switches out because it slept (a park, a futex wait)
    std::uint64_t involuntary = 0;  // switches out while it could run (preempted, yielded)
};

/// The threads of the process now, before the runtime starts. A thread is started and joined
/// first: ThreadSanitizer starts its background thread (which wakes every 100 ms) along with the
/// process's first thread, and it must not be taken for one of the runtime's.
std::set<pid_t> thread_ids() {
    std::thread([] {}).join();
    std::set<pid_t> ids;
    for (const rill::test::ThreadInfo& t : rill::test::process_threads())
        ids.insert(t.tid);
    return ids;
}

ThreadUse use_of(const rill::test::ThreadInfo& t) {
    ThreadUse u{t.tid, t.name};
    const std::string dir = "/proc/self/task/" + std::to_string(t.tid);
    std::ifstream schedstat(dir + "/schedstat");
    schedstat >> u.cpu_ns;
    std::ifstream status(dir + "/status");
    for (std::string line; std::getline(status, line);) {
        std::istringstream fields(line);
        std::string key;
        fields >> key;
        if (key == "voluntary_ctxt_switches:") fields >> u.voluntary;
        if (key == "nonvoluntary_ctxt_switches:") fields >> u.involuntary;
    }
    return u;
}

/// The threads started since `before` was taken: the runtime's.
std::vector<ThreadUse> runtime_threads(const std::set<pid_t>& before) {
    std::vector<ThreadUse> out;
    for (const rill::test::ThreadInfo& t : rill::test::process_threads()) {
        if (!before.contains(t.tid)) out.push_back(use_of(t));
    }
    return out;
}

struct IdleReading {
    std::size_t threads = 0;
    std::uint64_t cpu_ns = 0;         // all the runtime's threads together
    std::uint64_t most_switches = 0;  // the most any one of them was switched out
    std::string detail;               // per thread, for the failure message
};

/// Waits until every thread the runtime started is asleep (its spin and yield budgets spent),
/// then measures them over one second.
IdleReading idle_second(const std::set<pid_t>& before) {
    std::vector<ThreadUse> start = runtime_threads(before);
    for (const ThreadUse& t : start)
        CHECK(rill::test::parks(t.tid));
    start = runtime_threads(before);
    std::this_thread::sleep_for(1s);
    const std::vector<ThreadUse> end = runtime_threads(before);
    IdleReading r;
    std::ostringstream detail;
    for (const ThreadUse& e : end) {
        ThreadUse s{};
        for (const ThreadUse& x : start) {
            if (x.tid == e.tid) s = x;
        }
        const std::uint64_t switches =
            (e.voluntary - s.voluntary) + (e.involuntary - s.involuntary);
        ++r.threads;
        r.cpu_ns += e.cpu_ns - s.cpu_ns;
        r.most_switches = std::max(r.most_switches, switches);
        detail << "  " << e.name << " (" << e.tid << "): " << (e.cpu_ns - s.cpu_ns) / 1000
               << " us, switched out " << e.voluntary - s.voluntary << " times asleep and "
               << e.involuntary - s.involuntary << " times runnable\n";
    }
    r.detail = detail.str();
    return r;
}

void check_idle(const IdleReading& r, unsigned workers) {
    INFO("over 1 s, the runtime's threads:\n" << r.detail);
    CHECK(r.threads >= workers);  // every worker was measured
    CHECK(r.cpu_ns < kCpuBudgetNs);
    CHECK(r.most_switches <= kSwitchBudget);
}

}  // namespace

TEST_CASE("an idle runtime uses no CPU and does not wake", "[runtime][idle]") {
    const std::string shape =
        GENERATE("no flow", "an inlet with nothing pushed", "a flow that has finished");
    CAPTURE(shape);
    const std::set<pid_t> before = thread_ids();
    rill::Runtime runtime;  // default options: spin, yield, then park
    rill::Flow flow;
    std::atomic<std::uint64_t> got{0};
    std::optional<rill::Inlet<std::uint64_t>> inlet;
    std::optional<rill::Run> run;
    if (shape == "an inlet with nothing pushed") {
        auto io = flow.inlet<std::uint64_t>("in");
        io.stream.map("inc", [](std::uint64_t x) { return x + 1; })
            .sink("sink", [&](std::uint64_t x) { got.fetch_add(x); });
        inlet = io.inlet;
        run = runtime.start(flow);
    } else if (shape == "a flow that has finished") {
        flow.source("gen", rill::iota<std::uint64_t>(0, 1'000'000))
            .map("inc", [](std::uint64_t x) { return x + 1; })
            .sink("sink", [&](std::uint64_t x) { got.fetch_add(x); });
        REQUIRE(runtime.start(flow).wait() == rill::RunStatus::completed);
    }

    check_idle(idle_second(before), runtime.workers());

    if (inlet) {
        // The parked workers wake for items pushed now, and for the close.
        for (std::uint64_t i = 0; i < 1000; ++i)
            REQUIRE(inlet->try_push(i));
        inlet->close();
        const auto status = run->wait_for(60s);
        REQUIRE(status);
        CHECK(*status == rill::RunStatus::completed);
        CHECK(got.load() == 1000ull * 1001 / 2);
    }
}

TEST_CASE("an idle runtime parks again after a burst of work", "[runtime][idle]") {
    const std::set<pid_t> before = thread_ids();
    rill::Runtime runtime;
    rill::Flow flow;
    std::atomic<std::uint64_t> got{0};
    auto io = flow.inlet<std::uint64_t>("in");
    io.stream.sink("sink", [&](std::uint64_t) { got.fetch_add(1); });
    rill::Run run = runtime.start(flow);
    for (int burst = 1; burst <= 3; ++burst) {
        CAPTURE(burst);
        for (std::uint64_t i = 0; i < 10'000; ++i)
            REQUIRE(io.inlet.push(i));
        REQUIRE(rill::test::eventually([&] { return got.load() == 10'000ull * burst; }));
        check_idle(idle_second(before), runtime.workers());
    }
    io.inlet.close();
    CHECK(run.wait() == rill::RunStatus::completed);
}
