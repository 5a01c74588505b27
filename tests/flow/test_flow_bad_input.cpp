// Bad options and bad flows are refused with std::invalid_argument whose message names the value
// given and what was expected.

#include <catch2/catch.hpp>

#include <sched.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <rill/rill.hpp>

#include "support/matchers.hpp"

namespace {

/// Two workers whatever the machine.
rill::RuntimeOptions two_workers() {
    return {.workers = 2, .allow_oversubscription = true};
}

/// A flow with one source and a map on `opts`.
void source_and_map(rill::StageOptions opts) {
    rill::Flow flow;
    const auto identity = [](int x) { return x; };
    flow.source("numbers", rill::iota(0, 10))
        .map("stage_under_test", identity, opts)
        .sink("sink", [](int) {});
}

std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
    std::vector<int> cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
    REQUIRE(!cpus.empty());
    return cpus;
}

}  // namespace

TEST_CASE("bad input: stage options", "[flow][bad_input]") {
    SECTION("capacity not a power of two") {
        CHECK_THROWS_MATCHES(
            source_and_map({.capacity = 1000}), std::invalid_argument,
            MessageContainsAll({"stage_under_test", "capacity", "1000", "power of two"}));
    }
    SECTION("capacity 1 is a power of two, but below the minimum") {
        CHECK_THROWS_MATCHES(source_and_map({.capacity = 1}), std::invalid_argument,
                             MessageContainsAll({"stage_under_test", "capacity 1",
                                                 "below the minimum of 2", "power of two"}));
    }
    SECTION("capacity above the largest") {
        const std::size_t too_big = rill::kMaxStageCapacity * 2;
        CHECK_THROWS_MATCHES(source_and_map({.capacity = too_big}), std::invalid_argument,
                             MessageContainsAll({"stage_under_test", std::to_string(too_big),
                                                 std::to_string(rill::kMaxStageCapacity)}));
    }
    SECTION("batch over kMaxStageBatch") {
        const std::size_t too_big = rill::kMaxStageBatch + 1;
        CHECK_THROWS_MATCHES(
            source_and_map({.batch = too_big}), std::invalid_argument,
            MessageContainsAll({"stage_under_test", "batch", std::to_string(too_big),
                                std::to_string(rill::kMaxStageBatch)}));
    }
    SECTION("the largest values are accepted") {
        CHECK_NOTHROW(
            source_and_map({.capacity = rill::kMaxStageCapacity, .batch = rill::kMaxStageBatch}));
        CHECK_NOTHROW(source_and_map({.capacity = 2, .batch = 1}));
    }
}

TEST_CASE("bad input: flow and inlet options", "[flow][bad_input]") {
    SECTION("flow capacity 3: named as the flow's option, with a suggestion") {
        CHECK_THROWS_MATCHES(
            rill::Flow({.capacity = 3}), std::invalid_argument,
            MessageContainsAll({"FlowOptions::capacity 3", "not a power of two (try 4)"}));
    }
    SECTION("flow max_replicas 0") {
        CHECK_THROWS_MATCHES(rill::Flow({.max_replicas = 0}), std::invalid_argument,
                             MessageContainsAll({"FlowOptions::max_replicas 0"}));
    }
    SECTION("inlet capacity above the largest says why there is a largest") {
        rill::Flow flow;
        CHECK_THROWS_MATCHES(flow.inlet<int>("big", {.capacity = rill::kMaxInletCapacity + 1}),
                             std::invalid_argument,
                             MessageContainsAll({"big", std::to_string(rill::kMaxInletCapacity + 1),
                                                 "preallocates"}));
    }
    SECTION("flow batch 0") {
        CHECK_THROWS_MATCHES(rill::Flow({.batch = 0}), std::invalid_argument,
                             MessageContainsAll({"batch 0", std::to_string(rill::kMaxStageBatch)}));
    }
    SECTION("inlet capacity 0") {
        rill::Flow flow;
        CHECK_THROWS_MATCHES(flow.inlet<int>("the_inlet", {.capacity = 0}), std::invalid_argument,
                             MessageContainsAll({"the_inlet", "capacity 0"}));
        CHECK(flow.stage_count() == 0);  // nothing was added
    }
}

TEST_CASE("bad input: stage names and the shape of the graph", "[flow][bad_input]") {
    SECTION("empty stage name") {
        rill::Flow flow;
        CHECK_THROWS_MATCHES(flow.source("", rill::iota(0, 10)), std::invalid_argument,
                             MessageContainsAll({"name"}));
    }
    SECTION("duplicate stage name") {
        rill::Flow flow;
        auto s = flow.source("twin", rill::iota(0, 10));
        CHECK_THROWS_MATCHES(s.map("twin", [](int x) { return x; }), std::invalid_argument,
                             MessageContainsAll({"'twin'", "unique"}));
    }
    SECTION("a stream of items that cannot be copied, consumed twice") {
        rill::Flow flow;
        auto s = flow.source("numbers", rill::iota(0, 10)).map("boxed", [](int x) {
            return std::make_unique<int>(x);
        });
        s.sink("first", [](std::unique_ptr<int>) {});
        CHECK_THROWS_MATCHES(s.sink("second", [](std::unique_ptr<int>) {}), std::invalid_argument,
                             MessageContainsAll({"'boxed'", "'second'", "copied"}));
    }
    SECTION("a stream that goes nowhere, at Runtime::start") {
        rill::Runtime runtime(two_workers());
        rill::Flow flow;
        flow.source("numbers", rill::iota(0, 10)).map("dangling", [](int x) { return x; });
        CHECK_THROWS_MATCHES(static_cast<void>(runtime.start(flow)), std::invalid_argument,
                             MessageContainsAll({"'dangling'", "sink"}));
    }
    SECTION("a stage placed on worker 5 of 2") {
        rill::Runtime runtime(two_workers());
        rill::Flow flow;
        flow.source("numbers", rill::iota(0, 10)).sink("far_away", [](int) {}, {.worker = 5u});
        CHECK_THROWS_MATCHES(static_cast<void>(runtime.start(flow)), std::invalid_argument,
                             MessageContainsAll({"'far_away'", "worker 5", "2 workers"}));
    }
}

TEST_CASE("bad input: runtime options", "[flow][bad_input][runtime]") {
    const std::vector<int> cpus = allowed_cpus();
    const auto ncpus = static_cast<unsigned>(cpus.size());
    SECTION("workers 0") {
        CHECK_THROWS_MATCHES(rill::Runtime({.workers = 0u}), std::invalid_argument,
                             MessageContainsAll({"workers", "0", "at least 1"}));
    }
    SECTION("cpus empty") {
        CHECK_THROWS_MATCHES(rill::Runtime({.cpus = std::vector<int>{}}), std::invalid_argument,
                             MessageContainsAll({"cpus", "empty"}));
    }
    SECTION("cpus containing an unavailable CPU") {
        CHECK_THROWS_MATCHES(rill::Runtime({.cpus = std::vector<int>{cpus.front(), 4095}}),
                             std::invalid_argument, MessageContainsAll({"cpus", "4095"}));
    }
    SECTION("more workers than CPUs without allow_oversubscription") {
        CHECK_THROWS_MATCHES(rill::Runtime({.workers = ncpus + 1}), std::invalid_argument,
                             MessageContainsAll({"workers", std::to_string(ncpus + 1),
                                                 std::to_string(ncpus), "allow_oversubscription"}));
        // Two workers on one CPU, whatever the machine.
        CHECK_THROWS_MATCHES(rill::Runtime({.workers = 2u, .cpus = std::vector<int>{cpus[0]}}),
                             std::invalid_argument,
                             MessageContainsAll({"workers", "2", "allow_oversubscription"}));
    }
    SECTION("a name too long for thread names") {
        CHECK_THROWS_MATCHES(rill::Runtime({.name = "a-long-runtime-name"}), std::invalid_argument,
                             MessageContainsAll({"a-long-runtime-name", "15"}));
    }
}

TEST_CASE("bad input: allow_oversubscription lets workers share CPUs", "[flow][bad_input]") {
    const std::vector<int> cpus = allowed_cpus();
    const auto ncpus = static_cast<unsigned>(cpus.size());
    rill::Runtime runtime({.workers = ncpus + 1, .allow_oversubscription = true});
    CHECK(runtime.workers() == ncpus + 1);
    rill::Runtime shared(
        {.workers = 3u, .cpus = std::vector<int>{cpus[0]}, .allow_oversubscription = true});
    REQUIRE(shared.workers() == 3);
    CHECK(shared.cpus() == std::vector<int>{cpus[0], cpus[0], cpus[0]});

    // And a flow runs on it, one stage per worker.
    std::uint64_t sum = 0;
    rill::Flow flow;
    flow.source("numbers", rill::iota<std::uint64_t>(1, 1001), {.worker = 0u})
        .map("double", [](std::uint64_t x) { return 2 * x; }, {.worker = 1u})
        .sink("sum", [&sum](std::uint64_t x) { sum += x; }, {.worker = 2u});
    rill::Run run = shared.start(flow);
    CHECK(run.wait() == rill::RunStatus::completed);
    CHECK(sum == 1000 * 1001);
}

TEST_CASE("bad input: least_loaded after key_by is refused, not ignored", "[flow][bad_input]") {
    rill::Flow flow;
    auto keyed = flow.source("numbers", rill::iota(0, 10)).key_by([](int x) { return x % 3; });
    CHECK_THROWS_MATCHES(
        keyed.map("per_key", [](int x) { return x; },
                  {.replicas = 2, .distribution = rill::Distribution::least_loaded}),
        std::invalid_argument,
        MessageContainsAll({"per_key", "least_loaded does not apply after key_by"}));
}

TEST_CASE("bad input: a second consumer of a move-only stream is told what to do instead",
          "[flow][bad_input]") {
    rill::Flow flow;
    auto boxes = flow.source("boxes", [n = 0]() mutable -> std::optional<std::unique_ptr<int>> {
        if (n == 3) return std::nullopt;
        return std::make_unique<int>(n++);
    });
    boxes.sink("first", [](std::unique_ptr<int>) {});
    CHECK_THROWS_MATCHES(
        boxes.sink("second", [](std::unique_ptr<int>) {}), std::invalid_argument,
        MessageContainsAll({"'boxes'", "'second'", "cannot be copied", "std::shared_ptr"}));
}
