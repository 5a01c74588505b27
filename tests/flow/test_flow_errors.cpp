// Errors in stages: a map that throws on every k-th item under fail_fast (the run fails with a
// StageError naming the stage; what was in flight is dropped and counted) and under skip (the
// run completes without those items); and an open hook that throws.

#include <catch2/catch.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <rill/rill.hpp>

#include "support/stress_config.hpp"

namespace {

/// Reused by every configuration of a test case (ctest runs each case in its own process).
rill::Runtime& runtime() {
    static rill::Runtime rt({.workers = 2, .allow_oversubscription = true});
    return rt;
}

const std::vector<std::string> kStages{"source", "pre", "m", "post", "sink"};

std::string boom_message(std::uint64_t x) {
    return "boom at item " + std::to_string(x) + ".";
}

/// source 1..n -> pre (x) -> m (throws on multiples of k) -> post (x) -> sink (sum).
rill::Flow build(std::uint64_t n, std::uint64_t k, bool chain, rill::ErrorPolicy policy,
                 std::shared_ptr<std::uint64_t> sum) {
    rill::Flow flow({.capacity = 256, .batch = 64, .chain = chain});
    flow.source("source", rill::iota<std::uint64_t>(1, n + 1))
        .map("pre", [](std::uint64_t x) { return x; })
        .map("m",
             [k](std::uint64_t x) {
                 if (x % k == 0) throw std::runtime_error(boom_message(x));
                 return x;
             },
             {.on_error = policy})
        .map("post", [](std::uint64_t x) { return x; })
        .sink("sink", [sum](std::uint64_t x) { *sum += x; });
    return flow;
}

/// Per stage: everything received is accounted for once; along every edge, what one stage
/// emitted the next received (items left in a ring by an abort count as dropped there).
void check_accounting(const rill::FlowMetrics& metrics, const std::vector<std::string>& names) {
    REQUIRE(metrics.stages.size() == names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
        const rill::StageMetrics& s = metrics.at(names[i]);
        CAPTURE(s.name);
        CHECK(s.in == s.out + s.filtered + s.errored + s.dropped_on_cancel);
        CHECK(s.queue_depth == 0);
        if (i > 0) CHECK(s.in == metrics.at(names[i - 1]).emitted);
    }
    CHECK(metrics.balanced());
}

}  // namespace

TEST_CASE("flow errors: fail_fast fails the run with the first error, naming the stage",
          "[flow][errors]") {
    const std::uint64_t k = GENERATE(1u, 2u, 1000u);
    const bool chain = GENERATE(true, false);
    const std::uint64_t n = rill::test::stress_items(1'000'000, 10);
    CAPTURE(k, chain, n);
    auto sum = std::make_shared<std::uint64_t>(0);
    const rill::Flow flow = build(n, k, chain, rill::ErrorPolicy::fail_fast(), sum);

    rill::Run run = runtime().start(flow);
    bool threw = false;
    try {
        static_cast<void>(run.wait());
    } catch (const rill::StageError& e) {
        threw = true;
        CHECK(e.stage() == "m");
        // Items reach m in order, so the first error is the one of item k.
        CHECK_THAT(e.what(), Catch::Matchers::Contains(boom_message(k)));
        REQUIRE(e.cause() != nullptr);
        CHECK_THROWS_WITH(std::rethrow_exception(e.cause()), boom_message(k));
    }
    CHECK(threw);
    CHECK(run.done());

    const rill::FlowMetrics metrics = run.metrics();
    INFO(metrics);
    check_accounting(metrics, kStages);
    const rill::StageMetrics& m = metrics.at("m");
    CHECK(m.errored >= 1);
    CHECK(m.out >= k - 1);  // 1 .. k-1 went through before item k threw
    for (const char* other : {"source", "pre", "post", "sink"})
        CHECK(metrics.at(other).errored == 0);
}

TEST_CASE("flow errors: skip counts the failed items and the run goes on", "[flow][errors]") {
    const std::uint64_t k = GENERATE(1u, 2u, 1000u);
    const bool chain = GENERATE(true, false);
    // With k = 1 every item throws; an exception costs about a microsecond.
    const std::uint64_t n = rill::test::stress_items(1'000'000, 10);
    CAPTURE(k, chain, n);
    auto sum = std::make_shared<std::uint64_t>(0);
    const rill::Flow flow = build(n, k, chain, rill::ErrorPolicy::skip(), sum);

    rill::Run run = runtime().start(flow);
    const rill::RunStatus status = run.wait();  // throws nothing: a StageError fails the test
    const rill::FlowMetrics metrics = run.metrics();
    INFO(metrics);

    CHECK(status == rill::RunStatus::completed);
    const std::uint64_t failed = n / k;
    const std::uint64_t expected_sum = n * (n + 1) / 2 - k * (failed * (failed + 1) / 2);
    CHECK(*sum == expected_sum);
    check_accounting(metrics, kStages);
    const rill::StageMetrics& m = metrics.at("m");
    CHECK(m.in == n);
    CHECK(m.errored == failed);
    CHECK(m.out == n - failed);
    CHECK(m.emitted == n - failed);
    CHECK(metrics.at("sink").out == n - failed);
    for (const std::string& name : kStages) {
        CAPTURE(name);
        CHECK(metrics.at(name).dropped_on_cancel == 0);
        if (name != "m") CHECK(metrics.at(name).errored == 0);
    }
}

namespace {

/// A stage whose open hook throws when the test picks it.
struct OpenMayFail {
    std::string self;
    std::string failing;
    void open(rill::StageContext&) {
        if (self == failing) throw std::runtime_error("open of " + self + " failed");
    }
};
struct Source : OpenMayFail {
    using value_type = std::uint64_t;
    std::uint64_t next = 1;
    std::uint64_t last = 0;  // inclusive
    rill::SourceStatus poll(rill::Emitter<std::uint64_t>& out, std::size_t max) {
        for (std::size_t i = 0; i < max && next <= last; ++i)
            out.emit(next++);
        return next > last ? rill::SourceStatus::done : rill::SourceStatus::more;
    }
};
struct Identity : OpenMayFail {
    std::uint64_t operator()(std::uint64_t x) const { return x; }
};
struct Sum : OpenMayFail {
    std::shared_ptr<std::uint64_t> sum;
    void operator()(std::uint64_t x) { *sum += x; }
};

}  // namespace

TEST_CASE("flow errors: an open hook that throws fails the run, naming its stage",
          "[flow][errors]") {
    const std::string failing = GENERATE(as<std::string>{}, "source", "m", "sink");
    const bool chain = GENERATE(true, false);
    CAPTURE(failing, chain);
    constexpr std::uint64_t kItems = 100'000;
    auto sum = std::make_shared<std::uint64_t>(0);
    rill::Flow flow({.chain = chain});
    flow.source("source", Source{{"source", failing}, 1, kItems})
        .map("m", Identity{{"m", failing}})
        .sink("sink", Sum{{"sink", failing}, sum});

    rill::Run run = runtime().start(flow);
    bool threw = false;
    try {
        static_cast<void>(run.wait());
    } catch (const rill::StageError& e) {
        threw = true;
        CHECK(e.stage() == failing);
        CHECK_THAT(e.what(), Catch::Matchers::Contains("open of " + failing + " failed"));
    }
    CHECK(threw);
    const rill::FlowMetrics metrics = run.metrics();
    INFO(metrics);
    check_accounting(metrics, {"source", "m", "sink"});
    // A stage whose open hook failed handles no item.
    CHECK(metrics.at(failing).out == 0);
    CHECK(metrics.at("sink").out < kItems);
}
