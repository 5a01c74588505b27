// Runtime options as the process sees them: worker threads named "<name>/w<i>", each pinned to
// its CPU (or floating when unpinned), worker_stats() bounds, options rejected with a message
// naming them, and several flows running on one runtime at once.

#include <catch2/catch.hpp>

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "rill/rill.hpp"
#include "runtime/runtime_support.hpp"
#include "support/matchers.hpp"

using namespace std::chrono_literals;

namespace {

/// The CPUs in a thread's affinity mask (0: this thread).
std::vector<int> affinity(pid_t tid) {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> cpus;
    if (sched_getaffinity(tid, sizeof set, &set) != 0) return cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
    return cpus;
}

std::size_t threads_named_like(const std::string& prefix) {
    std::size_t n = 0;
    for (const auto& t : rill::test::process_threads())
        n += t.name.rfind(prefix, 0) == 0 ? 1 : 0;
    return n;
}

}  // namespace

TEST_CASE("workers are named <name>/w<i> and each is pinned to its CPU", "[runtime][workers]") {
    const std::string name = GENERATE("rill", "ingest-01");
    CAPTURE(name);
    const std::vector<int> allowed = affinity(0);
    REQUIRE_FALSE(allowed.empty());
    {
        rill::RuntimeOptions options;
        if (name != "rill") options.name = name;
        rill::Runtime runtime(options);
        REQUIRE(runtime.workers() == allowed.size());  // default: one per CPU of the process
        REQUIRE(runtime.cpus().size() == runtime.workers());
        CHECK(threads_named_like(name + "/w") == runtime.workers());
        for (unsigned i = 0; i < runtime.workers(); ++i) {
            CAPTURE(i);
            CHECK(runtime.cpus()[i] == allowed[i]);
            const auto tid = rill::test::thread_named(name + "/w" + std::to_string(i));
            REQUIRE(tid);
            CHECK(affinity(*tid) == std::vector<int>{runtime.cpus()[i]});
            const rill::WorkerStats stats = runtime.worker_stats(i);
            CHECK(stats.worker == i);
            CHECK(stats.cpu == runtime.cpus()[i]);
        }
    }
    CHECK(threads_named_like(name + "/w") == 0);  // joined
}

TEST_CASE("unpinned workers float over the process's CPUs", "[runtime][workers]") {
    const std::vector<int> allowed = affinity(0);
    rill::Runtime runtime({.workers = 2u, .allow_oversubscription = true, .pin = false});
    for (unsigned i = 0; i < runtime.workers(); ++i) {
        CAPTURE(i);
        CHECK(runtime.cpus()[i] == -1);
        CHECK(runtime.worker_stats(i).cpu == -1);
        const auto tid = rill::test::thread_named("rill/w" + std::to_string(i));
        REQUIRE(tid);
        CHECK(affinity(*tid) == allowed);
    }
}

TEST_CASE("workers go round the CPUs they are given", "[runtime][workers]") {
    const std::vector<int> allowed = affinity(0);
    const int last = allowed.back();
    SECTION("one worker on the last CPU") {
        rill::Runtime runtime({.workers = 1u, .cpus = std::vector<int>{last}});
        REQUIRE(runtime.workers() == 1);
        CHECK(runtime.cpus() == std::vector<int>{last});
        const auto tid = rill::test::thread_named("rill/w0");
        REQUIRE(tid);
        CHECK(affinity(*tid) == std::vector<int>{last});
    }
    SECTION("more workers than CPUs when oversubscription is allowed") {
        const auto n = static_cast<unsigned>(allowed.size() + 1);
        rill::Runtime runtime({.workers = n, .allow_oversubscription = true});
        REQUIRE(runtime.workers() == n);
        for (unsigned i = 0; i < n; ++i) {
            CAPTURE(i);
            CHECK(runtime.cpus()[i] == allowed[i % allowed.size()]);
            const auto tid = rill::test::thread_named("rill/w" + std::to_string(i));
            REQUIRE(tid);
            CHECK(affinity(*tid) == std::vector<int>{allowed[i % allowed.size()]});
        }
    }
}

TEST_CASE("worker_stats() for a worker that does not exist throws out_of_range naming it",
          "[runtime][workers]") {
    rill::Runtime runtime({.workers = 2u, .allow_oversubscription = true});
    RILL_CHECK_THROWS_WITH_TEXT(runtime.worker_stats(2), std::out_of_range, "worker 2");
    RILL_CHECK_THROWS_WITH_TEXT(runtime.worker_stats(7), std::out_of_range, "worker 7");
    RILL_CHECK_THROWS_WITH_TEXT(runtime.worker_stats(~0u), std::out_of_range,
                                "worker " + std::to_string(~0u));
    CHECK_NOTHROW(runtime.worker_stats(1));
}

TEST_CASE("bad runtime options are rejected with a message naming them", "[runtime][workers]") {
    const std::vector<int> allowed = affinity(0);
    const auto cpus = static_cast<unsigned>(allowed.size());
    RILL_CHECK_THROWS_WITH_TEXT(rill::Runtime({.workers = 0u}), std::invalid_argument,
                                "workers is 0");
    RILL_CHECK_THROWS_WITH_TEXT(rill::Runtime({.workers = cpus + 1}), std::invalid_argument,
                                "allow_oversubscription");
    RILL_CHECK_THROWS_WITH_TEXT(
        rill::Runtime(
            {.workers = rill::RuntimeOptions::kMaxWorkers + 1, .allow_oversubscription = true}),
        std::invalid_argument,
        "workers is " + std::to_string(rill::RuntimeOptions::kMaxWorkers + 1));
    RILL_CHECK_THROWS_WITH_TEXT(rill::Runtime({.cpus = std::vector<int>{}}), std::invalid_argument,
                                "cpus is empty");
    RILL_CHECK_THROWS_WITH_TEXT(rill::Runtime({.cpus = std::vector<int>{CPU_SETSIZE - 1}}),
                                std::invalid_argument, "CPU " + std::to_string(CPU_SETSIZE - 1));
    RILL_CHECK_THROWS_WITH_TEXT(rill::Runtime({.cpus = std::vector<int>{allowed[0], allowed[0]}}),
                                std::invalid_argument, "twice");
    RILL_CHECK_THROWS_WITH_TEXT(rill::Runtime({.name = "a-much-too-long-name"}),
                                std::invalid_argument, "name");
    RILL_CHECK_THROWS_WITH_TEXT(rill::Runtime({.name = ""}), std::invalid_argument, "name");
    CHECK_THROWS_AS(rill::Runtime({.wait = {rill::WaitPolicy::Mode::spin_park,
                                            rill::WaitPolicy::kMaxSpin + 1, 0}}),
                    std::invalid_argument);
    CHECK(threads_named_like("rill/w") == 0);  // no worker left behind by a refused start
}

TEST_CASE("several flows run on one runtime at once and each gets its own result",
          "[runtime][workers]") {
    rill::Runtime runtime;
    constexpr std::uint64_t kItems = 300'000;
    struct Result {
        std::uint64_t sum = 0, count = 0;
    };
    std::vector<Result> results(6);
    std::vector<rill::Flow> flows;
    for (std::size_t f = 0; f < results.size(); ++f) {
        Result& r = results[f];
        const auto k = static_cast<std::uint64_t>(f + 1);
        rill::Flow flow(
            {.capacity = f % 2 == 0 ? std::size_t{64} : std::size_t{1024}, .chain = f % 3 != 0});
        auto stream = flow.source("gen", rill::iota<std::uint64_t>(0, kItems))
                          .map("scale", [k](std::uint64_t x) { return k * x; });
        if (f == 4) {
            stream.filter("even", [](std::uint64_t x) { return x % 2 == 0; })
                .sink("sum", [&r](std::uint64_t x) {
                    r.sum += x;
                    ++r.count;
                });
        } else if (f == 5) {
            stream
                .flat_map("twice",
                          [](std::uint64_t x, rill::Emitter<std::uint64_t>& out) {
                              out.emit(x);
                              out.emit(x);
                          })
                .sink("sum", [&r](std::uint64_t x) {
                    r.sum += x;
                    ++r.count;
                });
        } else {
            stream.sink("sum", [&r](std::uint64_t x) {
                r.sum += x;
                ++r.count;
            });
        }
        flows.push_back(std::move(flow));
    }
    std::vector<rill::Run> runs;
    for (const rill::Flow& flow : flows)
        runs.push_back(runtime.start(flow));
    for (std::size_t f = 0; f < runs.size(); ++f) {
        CAPTURE(f);
        const auto status = runs[f].wait_for(120s);
        REQUIRE(status);
        CHECK(*status == rill::RunStatus::completed);
        CHECK(runs[f].metrics().balanced());
        const auto k = static_cast<std::uint64_t>(f + 1);
        const std::uint64_t base = kItems * (kItems - 1) / 2;  // 0 + 1 + ... + kItems-1
        if (f == 4) {
            CHECK(results[f].count == kItems / 2);  // 5x is even exactly when x is
            CHECK(results[f].sum == k * 2 * ((kItems / 2) * (kItems / 2 - 1) / 2));
        } else if (f == 5) {
            CHECK(results[f].count == 2 * kItems);
            CHECK(results[f].sum == 2 * k * base);
        } else {
            CHECK(results[f].count == kItems);
            CHECK(results[f].sum == k * base);
        }
    }
    // Finished tasks leave their workers.
    for (unsigned w = 0; w < runtime.workers(); ++w) {
        CAPTURE(w);
        CHECK(rill::test::eventually([&] { return runtime.worker_stats(w).tasks == 0; }));
    }
}
