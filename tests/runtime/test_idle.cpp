// Idle CPU: a started Runtime with default options whose workers have nothing to do (no flow, a
// flow whose only source is an empty inlet, or a flow that has finished) parks them once their
// spin and yield budget has passed: over a second, the whole process uses under 2% of one CPU.
// Then the parked workers still wake for work.

#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "rill/rill.hpp"
#include "runtime/runtime_support.hpp"

using namespace std::chrono_literals;

namespace {

/// CPU time (user + system) used by the whole process so far, in microseconds.
long process_cpu_micros() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1'000'000L + u.ru_utime.tv_usec +
           u.ru_stime.tv_usec;
}

/// Nanoseconds each thread of the process has run, from /proc (for the failure message).
std::string per_thread_cpu() {
    std::ostringstream out;
    for (const rill::test::ThreadInfo& t : rill::test::process_threads()) {
        std::ifstream stat("/proc/self/task/" + std::to_string(t.tid) + "/schedstat");
        std::uint64_t ns = 0;
        stat >> ns;
        out << "  " << t.name << " (" << t.tid << "): " << ns / 1000 << " us, state "
            << rill::test::thread_state(t.tid) << '\n';
    }
    return out.str();
}

/// CPU used by the process over one second, after `settle` for the spin and yield budgets.
long idle_cpu_micros(std::chrono::milliseconds settle = 200ms) {
    std::this_thread::sleep_for(settle);
    const long before = process_cpu_micros();
    std::this_thread::sleep_for(1s);
    return process_cpu_micros() - before;
}

constexpr long kBudgetMicros = 20'000;  // 2% of one CPU over one second

}  // namespace

TEST_CASE("an idle runtime uses no CPU", "[runtime][idle]") {
    const std::string shape =
        GENERATE("no flow", "an inlet with nothing pushed", "a flow that has finished");
    CAPTURE(shape);
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

    const long used = idle_cpu_micros();
    INFO("process CPU over 1 s: " << used << " us; threads:\n" << per_thread_cpu());
    CHECK(used < kBudgetMicros);

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
        const long used = idle_cpu_micros();
        INFO("process CPU over 1 s: " << used << " us; threads:\n" << per_thread_cpu());
        CHECK(used < kBudgetMicros);
    }
    io.inlet.close();
    CHECK(run.wait() == rill::RunStatus::completed);
}
