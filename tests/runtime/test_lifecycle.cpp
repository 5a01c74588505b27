// Lifecycles that cross: a start() that races with the runtime's destruction, runtimes built and
// destroyed by the stages of another runtime, and flows started more than once.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>

#include "rill/rill.hpp"
#include "rill/runtime/detail/runtime_access.hpp"
#include "runtime/runtime_support.hpp"
#include "support/matchers.hpp"

using namespace std::chrono_literals;

namespace {

// The worker idle hook holds the worker between a pass that found nothing and its decision to
// exit or wait: the window in which a submit() and a quit could both land.
enum HookState : int { kIdle, kArmed, kHolding, kReleased };
std::atomic<int> g_hook{kIdle};

void hold_once_when_armed() {
    int armed = kArmed;
    if (!g_hook.compare_exchange_strong(armed, kHolding)) return;
    while (g_hook.load() != kReleased)
        std::this_thread::sleep_for(1ms);
}

std::uint64_t sum_to(std::uint64_t n) {
    return n * (n + 1) / 2;
}

}  // namespace

TEST_CASE("a worker runs the tasks of a start() that lands just before the runtime's destruction",
          "[runtime][lifecycle]") {
    rill::detail::set_worker_idle_hook(&hold_once_when_armed);
    std::optional<rill::Run> run;
    {
        auto runtime = std::make_unique<rill::Runtime>(rill::RuntimeOptions{.workers = 1});
        rill::Flow flow;
        flow.source("endless", rill::test::EndlessSource<std::uint64_t>{})
            .sink("drop", [](std::uint64_t) {});
        // A parked worker reaches the hook after it wakes for some work and runs out of it.
        rill::Flow brief;
        brief.source("numbers", rill::iota<std::uint64_t>(1, 11)).sink("drop", [](std::uint64_t) {
        });
        // Armed while the worker is parked, so that its first idle pass after the brief run is
        // the one held (not one from its start-up).
        REQUIRE(rill::test::eventually([&] { return runtime->worker_stats(0).parked; }));
        g_hook = kArmed;
        REQUIRE(runtime->start(brief).wait() == rill::RunStatus::completed);
        REQUIRE(rill::test::eventually([] { return g_hook.load() == kHolding; }));
        // The worker is past its pass: the tasks land in its inbox, then ~Runtime cancels the
        // run and asks the worker to quit while it is still held.
        run.emplace(runtime->start(flow));
        std::thread destroyer([&runtime] { runtime.reset(); });
        std::this_thread::sleep_for(200ms);
        g_hook = kReleased;
        destroyer.join();
    }
    rill::detail::set_worker_idle_hook(nullptr);
    // The worker took the tasks before exiting, so the cancelled run ended with it.
    REQUIRE(run->done());
    CHECK(run->wait() == rill::RunStatus::cancelled);
    CHECK(run->metrics().balanced());
}

namespace {

/// A stage that runs a flow on a runtime of its own: built and waited for in open(), destroyed in
/// close(), both on a worker of the outer runtime.
struct NestedRuntimeStage {
    std::shared_ptr<rill::Runtime> inner;
    std::shared_ptr<std::uint64_t> inner_sum = std::make_shared<std::uint64_t>(0);

    void open(rill::StageContext&) {
        inner = std::make_shared<rill::Runtime>(
            rill::RuntimeOptions{.workers = 1, .allow_oversubscription = true, .name = "inner"});
        rill::Flow flow;
        flow.source("numbers", rill::iota<std::uint64_t>(1, 1001))
            .sink("sum", [sum = inner_sum](std::uint64_t x) { *sum += x; });
        rill::Run run = inner->start(flow);
        if (run.wait() != rill::RunStatus::completed) throw std::runtime_error("inner run failed");
    }
    std::uint64_t operator()(std::uint64_t x) const { return x + *inner_sum; }
    void close() { inner.reset(); }
};

}  // namespace

TEST_CASE("a stage may run and destroy a runtime of its own on a worker of another",
          "[runtime][lifecycle]") {
    rill::Runtime runtime({.workers = 2, .allow_oversubscription = true});
    rill::Flow flow;
    std::uint64_t total = 0;
    flow.source("numbers", rill::iota<std::uint64_t>(1, 101))
        .map("nested", NestedRuntimeStage{})
        .sink("sum", [&total](std::uint64_t x) { total += x; });
    rill::Run run = runtime.start(flow);
    REQUIRE(run.wait_for(60s) == rill::RunStatus::completed);
    CHECK(total == sum_to(100) + 100 * sum_to(1000));
}

TEST_CASE("waiting for a run on a worker of its own runtime is refused with a message",
          "[runtime][lifecycle]") {
    rill::Runtime runtime({.workers = 1});
    std::optional<rill::Run> inner;
    std::string refused = "(nothing was thrown)";
    rill::Flow other;
    other.source("numbers", rill::iota<std::uint64_t>(1, 11)).sink("drop", [](std::uint64_t) {});
    rill::Flow flow;
    flow.source("numbers", rill::iota<std::uint64_t>(1, 2)).sink("waits", [&](std::uint64_t) {
        inner.emplace(runtime.start(other));
        try {
            static_cast<void>(inner->wait());
        } catch (const std::logic_error& e) {
            refused = e.what();
        }
    });
    REQUIRE(runtime.start(flow).wait() == rill::RunStatus::completed);
    CHECK_THAT(refused, Catch::Matchers::Contains("worker thread of the run's own runtime"));
    REQUIRE(inner.has_value());
    CHECK(inner->wait() == rill::RunStatus::completed);
}

TEST_CASE("a flow with an inlet or a service feeds one run: a second start is refused",
          "[runtime][lifecycle]") {
    rill::Runtime runtime({.workers = 2, .allow_oversubscription = true});
    SECTION("an inlet") {
        rill::Flow flow;
        auto io = flow.inlet<std::uint64_t>("orders");
        std::atomic<std::uint64_t> sum{0};
        io.stream.sink("sum", [&sum](std::uint64_t x) { sum.fetch_add(x); });
        rill::Run first = runtime.start(flow);
        for (std::uint64_t i = 1; i <= 1000; ++i)
            REQUIRE(io.inlet.push(i));
        CHECK_THROWS_MATCHES(runtime.start(flow), std::logic_error,
                             MessageContainsAll({"inlet 'orders'", "already serves a run"}));
        // The refused start touched nothing: the first run goes on with its inlet open.
        for (std::uint64_t i = 1001; i <= 2000; ++i)
            REQUIRE(io.inlet.push(i));
        io.inlet.close();
        CHECK(first.wait() == rill::RunStatus::completed);
        CHECK(sum.load() == sum_to(2000));
        CHECK(first.metrics().balanced());
        // Still refused once the first run has ended.
        CHECK_THROWS_AS(runtime.start(flow), std::logic_error);
    }
    SECTION("a service") {
        rill::Flow flow;
        auto [service, requests] = flow.service<int, int>("double");
        requests.map("x2", [](int x) { return 2 * x; }).respond("answer");
        rill::Run first = runtime.start(flow);
        CHECK(service.call(1, 60s).get() == 2);
        CHECK_THROWS_MATCHES(runtime.start(flow), std::logic_error,
                             MessageContainsAll({"'double'", "already serves a run"}));
        CHECK(service.call(21, 60s).get() == 42);  // the service is still open
        service.close();
        CHECK(first.wait() == rill::RunStatus::completed);
    }
    SECTION("a flow without either may run twice at once") {
        rill::Flow flow;
        std::atomic<std::uint64_t> sum{0};
        flow.source("numbers", rill::iota<std::uint64_t>(1, 1001))
            .sink("sum", [&sum](std::uint64_t x) { sum.fetch_add(x); });
        rill::Run a = runtime.start(flow);
        rill::Run b = runtime.start(flow);
        CHECK(a.wait() == rill::RunStatus::completed);
        CHECK(b.wait() == rill::RunStatus::completed);
        CHECK(sum.load() == 2 * sum_to(1000));
    }
}

TEST_CASE("the replicas of a stage run on different workers while there are enough",
          "[runtime][lifecycle][placement]") {
    for (const unsigned workers : {2u, 3u, 4u}) {
        CAPTURE(workers);
        rill::Runtime runtime({.workers = workers, .allow_oversubscription = true});
        for (std::size_t replicas = 2; replicas <= workers; ++replicas) {
            CAPTURE(replicas);
            rill::Flow flow;
            flow.source("numbers", rill::iota<std::uint64_t>(0, 100))
                .map("before", [](std::uint64_t x) { return x; })
                .map("work", [](std::uint64_t x) { return x; }, {.replicas = replicas})
                .sink("drop", [](std::uint64_t) {});
            rill::Run run = runtime.start(flow);
            REQUIRE(run.wait() == rill::RunStatus::completed);
            std::vector<unsigned> used;
            for (const rill::StageMetrics& m : run.metrics().stages) {
                if (m.stage == "work") used.push_back(m.worker);
            }
            REQUIRE(used.size() == replicas);
            std::sort(used.begin(), used.end());
            CHECK(std::adjacent_find(used.begin(), used.end()) == used.end());
        }
    }
}
