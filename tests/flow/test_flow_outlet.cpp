// Outlet<T>: application threads read a flow's results. Every item arrives once, in order for one
// reader; a slow reader holds the flow back (the outlet never holds more than its capacity); the
// stream ends when the run does, however it ends; nobody reading fails the stage loudly.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "rill/rill.hpp"
#include "support/matchers.hpp"

using namespace std::chrono_literals;

namespace {

rill::RuntimeOptions two_workers() {
    return {.workers = 2, .allow_oversubscription = true};
}

}  // namespace

TEST_CASE("outlet: one reader gets every item once, in order, with range-for", "[flow][outlet]") {
    constexpr std::uint64_t kItems = 200'000;
    rill::Runtime runtime(two_workers());
    rill::Flow flow;
    rill::Outlet<std::uint64_t> squares =
        flow.source("numbers", rill::iota<std::uint64_t>(0, kItems))
            .map("square", [](std::uint64_t x) { return x * x; })
            .outlet("squares", {.capacity = 64});
    rill::Run run = runtime.start(flow);
    std::uint64_t expected = 0;
    bool in_order = true;
    for (const std::uint64_t x : squares) {
        in_order = in_order && x == expected * expected;
        ++expected;
    }
    CHECK(expected == kItems);
    CHECK(in_order);
    CHECK(squares.ended());
    CHECK_FALSE(squares.try_pop().has_value());
    CHECK(run.wait() == rill::RunStatus::completed);
    const rill::FlowMetrics m = run.metrics();
    CHECK(m.balanced());
    CHECK(m.at("squares").in == kItems);
    CHECK(m.at("squares").out == kItems);
}

TEST_CASE("outlet: several readers share the items, each once", "[flow][outlet]") {
    constexpr std::uint64_t kItems = 100'000;
    rill::Runtime runtime(two_workers());
    rill::Flow flow;
    rill::Outlet<std::uint64_t> out = flow.source("numbers", rill::iota<std::uint64_t>(0, kItems))
                                          .outlet("out", {.capacity = 128});
    rill::Run run = runtime.start(flow);
    std::vector<std::vector<std::uint64_t>> got(3);
    std::vector<std::thread> readers;
    for (auto& mine : got) {
        readers.emplace_back([out, &mine]() mutable {
            while (std::optional<std::uint64_t> x = out.pop())
                mine.push_back(*x);
        });
    }
    for (std::thread& t : readers)
        t.join();
    std::vector<std::uint64_t> all;
    for (const auto& mine : got) {
        CHECK(std::is_sorted(mine.begin(), mine.end()));  // FIFO for each reader
        all.insert(all.end(), mine.begin(), mine.end());
    }
    std::sort(all.begin(), all.end());
    REQUIRE(all.size() == kItems);
    for (std::uint64_t i = 0; i < kItems; ++i) {
        if (all[i] != i) FAIL("item " << i << " missing or duplicated");
    }
    CHECK(run.wait() == rill::RunStatus::completed);
}

TEST_CASE("outlet: a reader that stops reading holds the flow back, within the capacity",
          "[flow][outlet]") {
    rill::Runtime runtime(two_workers());
    rill::Flow flow({.capacity = 16, .batch = 8});
    rill::Outlet<std::uint64_t> out =
        flow.source("numbers", rill::iota<std::uint64_t>(0, 1'000'000))
            .outlet("out", {.capacity = 32});
    rill::Run run = runtime.start(flow);
    for (int i = 0; i < 100; ++i)
        REQUIRE(out.pop().has_value());
    std::this_thread::sleep_for(100ms);  // the reader pauses; the flow fills up and waits
    CHECK(out.size_approx() <= out.capacity());
    const rill::FlowMetrics held = run.metrics();
    INFO(held);
    // The source emitted at most what the outlet, one ring and a batch or two can hold.
    CHECK(held.at("numbers").emitted <= 100 + 32 + 16 + 4 * 8);
    CHECK_FALSE(run.done());
    std::uint64_t count = 100;
    while (out.pop())
        ++count;
    CHECK(count == 1'000'000);
    CHECK(run.wait() == rill::RunStatus::completed);
}

TEST_CASE("outlet: the stream ends when the run is cancelled, and what was held is counted",
          "[flow][outlet]") {
    rill::Runtime runtime(two_workers());
    rill::Flow flow({.capacity = 16, .batch = 8});
    rill::Outlet<std::uint64_t> out =
        flow.source(
                "endless",
                [n = std::uint64_t{0}]() mutable -> std::optional<std::uint64_t> { return n++; })
            .outlet("out", {.capacity = 16});
    rill::Run run = runtime.start(flow);
    REQUIRE(out.pop().has_value());
    run.cancel();  // while the outlet stage waits for room
    std::uint64_t drained = 0;
    while (out.pop_for(60s))
        ++drained;
    CHECK(out.ended());
    CHECK(run.wait() == rill::RunStatus::cancelled);
    const rill::FlowMetrics m = run.metrics();
    INFO(m);
    CHECK(m.balanced());
    CHECK(m.at("out").out == 1 + drained);
}

TEST_CASE("outlet: when every handle is gone, arriving items fail the stage instead of vanishing",
          "[flow][outlet]") {
    rill::Runtime runtime(two_workers());
    rill::Flow flow({.capacity = 16, .batch = 8});
    std::optional<rill::Outlet<std::uint64_t>> out =
        flow.source("numbers", rill::iota<std::uint64_t>(0, 1'000'000))
            .outlet("out", {.capacity = 16});
    rill::Run run = runtime.start(flow);
    REQUIRE(out->pop().has_value());
    out.reset();
    CHECK_THROWS_MATCHES(run.wait(), rill::StageError,
                         MessageContainsAll({"'out'", "every Outlet handle was destroyed"}));
    CHECK(run.metrics().balanced());
}

TEST_CASE("outlet: bad options and a second start are refused", "[flow][outlet][bad_input]") {
    rill::Flow flow;
    auto numbers = flow.source("numbers", rill::iota(0, 10));
    CHECK_THROWS_MATCHES(numbers.outlet("out", {.capacity = 100}), std::invalid_argument,
                         MessageContainsAll({"outlet 'out'", "capacity 100", "try 128"}));
    rill::Outlet<int> out = numbers.outlet("out", {.capacity = 16});
    rill::Runtime runtime(two_workers());
    rill::Run run = runtime.start(flow);
    CHECK_THROWS_MATCHES(runtime.start(flow), std::logic_error,
                         MessageContainsAll({"outlet 'out'", "already serves a run"}));
    int sum = 0;
    for (const int x : out)
        sum += x;
    CHECK(sum == 45);
    CHECK(run.wait() == rill::RunStatus::completed);
}
