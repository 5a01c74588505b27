// Checksums through whole flows: every item of rill::iota(1, N + 1) reaches the sink exactly once,
// whatever the shape (3 or 5 stages), worker count, wait policy, chaining, ring capacity and
// batch size; and every stage accounts for every item it received. A per-item ledger at the sink
// names what was lost or duplicated; a progress watchdog cancels a run whose sink gets nothing
// for a stall limit (a lost item can leave a run waiting for ever), so that the ledger
// is still printed.

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rill/rill.hpp>

#include "support/item_ledger.hpp"
#include "support/progress_watchdog.hpp"
#include "support/stress_config.hpp"

namespace {

struct NamedPolicy {
    const char* name;
    rill::WaitPolicy policy;
};

/// One Runtime per worker count, reused across configurations: workers are pinned threads, and
/// starting them for every configuration would cost more than some of the runs. The generator
/// below varies the worker count outermost, so each count gets its runtime once.
rill::Runtime& runtime_with(unsigned workers) {
    static std::unique_ptr<rill::Runtime> runtime;
    if (!runtime || runtime->workers() != workers) {
        runtime.reset();  // its workers go before the next ones start
        runtime = std::make_unique<rill::Runtime>(
            rill::RuntimeOptions{.workers = workers, .allow_oversubscription = true});
    }
    return *runtime;
}

/// Items for one configuration, so that the whole matrix takes well under a minute on two shared
/// cores. Full size where items move in batches of 64 through rings of 1024. A tenth where every
/// item costs a hand-off of its own: batch 1 (a publish and a wake-up check per item) and
/// capacity 2 (producer and consumer take turns every two items). With `park` on two workers each
/// hand-off between the workers is a futex wake-up and a sleep, whose cost is the scheduler's
/// latency: measured in release, 100'000 items through rings of 2 took 1.3-2.5 s on an idle
/// machine and 8-19 s on a loaded one (against 0.03 s with the spinning policies), and 10'000'000
/// items through rings of 1024 took 0.9-3.9 s; so `park` on two workers takes another tenth, and
/// a hundredth with rings of 2. These corners exercise the hand-off, not volume: even 1'000 items
/// wrap a ring of 2 five hundred times.
std::uint64_t items_for(unsigned workers, rill::WaitPolicy::Mode wait, std::size_t capacity,
                        std::size_t batch) {
    std::uint64_t n = rill::test::stress_items(4'000'000, 40);
    if (batch == 1) n /= 10;
    if (capacity == 2) n /= 10;
    if (wait == rill::WaitPolicy::Mode::park && workers > 1) n /= capacity == 2 ? 100 : 10;
    return n == 0 ? 1 : n;
}

// Closed forms, with n the last item of iota(1, n + 1).
constexpr std::uint64_t sum_to(std::uint64_t n) {
    return n * (n + 1) / 2;
}
/// 3 stages: sum of 3x + 1.
constexpr std::uint64_t expected_three(std::uint64_t n) {
    return 3 * sum_to(n) + n;
}
/// 5 stages: 2x is dropped when divisible by 3 (that is, when x is), else 2x + 1 is summed.
constexpr std::uint64_t multiples_of_three(std::uint64_t n) {
    return n / 3;
}
constexpr std::uint64_t expected_five(std::uint64_t n) {
    const std::uint64_t m = multiples_of_three(n);
    return (2 * sum_to(n) + n) - (2 * 3 * sum_to(m) + m);
}
static_assert(expected_three(2) == 4 + 7);
static_assert(expected_five(4) == 3 + 5 + 9);  // x = 1, 2, 4; x = 3 is dropped

/// What the sink keeps, on its worker: the sum, a ledger of the inputs x it received (recovered
/// from each output), and a count of items the watchdog reads.
struct SinkRecord {
    explicit SinkRecord(std::uint64_t n) : ledger(n + 1) {}
    std::uint64_t total = 0;
    rill::test::ItemLedger ledger;  // indexed by x, 1..n
    std::atomic<std::uint64_t> received{0};
    void take(std::uint64_t out, std::uint64_t x) {
        total += out;
        ledger.mark(x);
        // relaxed: a progress count for the watchdog; a plain increment, one writer.
        received.store(received.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
};

}  // namespace

TEST_CASE(
    "flow checksum: 3 and 5 stages over every worker count, wait policy, chaining, "
    "capacity and batch",
    "[flow][stress]") {
    const unsigned workers = GENERATE(1u, 2u);
    const NamedPolicy wait = GENERATE(values<NamedPolicy>({
        {"busy_spin", rill::WaitPolicy::busy_spin()},
        {"spin_yield", rill::WaitPolicy::spin_yield()},
        {"spin_park", rill::WaitPolicy::spin_park()},
        {"park", rill::WaitPolicy::park()},
    }));
    const bool chain = GENERATE(true, false);
    const std::size_t capacity = GENERATE(std::size_t{2}, std::size_t{1024});
    const std::size_t batch = GENERATE(std::size_t{1}, std::size_t{64});
    const int stages = GENERATE(3, 5);
    const std::uint64_t n = items_for(workers, wait.policy.mode, capacity, batch);
    CAPTURE(workers, wait.name, chain, capacity, batch, stages, n);
    INFO("not run when an earlier configuration stalled: it would only stall again");
    REQUIRE(rill::test::ProgressWatchdog::stalls_so_far() == 0);

    rill::Runtime& runtime = runtime_with(workers);
    REQUIRE(runtime.workers() == workers);

    // Every stage waits by the policy under test (it overrides the runtime's on its worker).
    const rill::StageOptions opts{.wait = wait.policy};
    auto record = std::make_shared<SinkRecord>(n);  // written by the sink's worker only
    rill::Flow flow({.capacity = capacity, .batch = batch, .chain = chain});
    auto source = flow.source("source", rill::iota<std::uint64_t>(1, n + 1), opts);
    std::vector<std::string> names;
    std::uint64_t expected = 0;
    std::uint64_t expected_filtered = 0;
    // The ledger is indexed by the input x, recovered from the output (3x + 1, or 2x + 1).
    const std::uint64_t factor = stages == 3 ? 3 : 2;
    const auto sum = [record, factor](std::uint64_t y) {
        record->take(y, (y - 1) % factor == 0 ? (y - 1) / factor : ~std::uint64_t{0});
    };
    if (stages == 3) {
        const auto three_x_plus_1 = [](std::uint64_t x) { return 3 * x + 1; };
        source.map("map", three_x_plus_1, opts).sink("sink", sum, opts);
        names = {"source", "map", "sink"};
        expected = expected_three(n);
    } else {
        const auto twice = [](std::uint64_t x) { return 2 * x; };
        const auto not_multiple_of_3 = [](std::uint64_t x) { return x % 3 != 0; };
        const auto plus_1 = [](std::uint64_t x) { return x + 1; };
        source.map("double", twice, opts)
            .filter("drop3", not_multiple_of_3, opts)
            .map("inc", plus_1, opts)
            .sink("sink", sum, opts);
        names = {"source", "double", "drop3", "inc", "sink"};
        expected = expected_five(n);
        expected_filtered = multiples_of_three(n);
    }

    rill::Run run = runtime.start(flow);
    rill::RunStatus status{};
    std::string watchdog;
    {
        const rill::test::ProgressWatchdog dog("flow checksum", record->received,
                                               [&run] { run.cancel(); });
        status = run.wait();
        watchdog = dog.describe();
        CHECK_FALSE(dog.stalled());
    }
    const rill::FlowMetrics metrics = run.metrics();
    INFO(metrics);
    // Every x in 1..n once, but for the 5-stage shape's multiples of 3, which the filter drops.
    const rill::test::LedgerVerdict verdict = record->ledger.verdict(
        [&](std::uint64_t x) { return x >= 1 && x <= n && (stages == 3 || x % 3 != 0); });
    INFO(watchdog << "; " << verdict);

    CHECK(status == rill::RunStatus::completed);
    CHECK(verdict.missing == 0);
    CHECK(verdict.duplicated == 0);
    CHECK(verdict.unexpected == 0);
    CHECK(record->total == expected);
    REQUIRE(metrics.stages.size() == names.size());
    const std::uint64_t delivered = n - expected_filtered;
    for (std::size_t i = 0; i < names.size(); ++i) {
        const rill::StageMetrics& s = metrics.at(names[i]);
        CAPTURE(s.name);
        CHECK(s.balanced());
        CHECK(s.in == s.out + s.filtered + s.errored + s.dropped_on_cancel);
        CHECK(s.errored == 0);
        CHECK(s.dropped_on_cancel == 0);
        CHECK(s.worker < workers);
        // Items are conserved along every edge: what a stage emits, the next one receives.
        if (i > 0) CHECK(s.in == metrics.at(names[i - 1]).emitted);
        // A ring never holds more than its capacity; a chained stage has no ring.
        CHECK(s.queue_max <= s.queue_capacity);
        CHECK(s.queue_depth == 0);
        if (i > 0 && !chain) CHECK(s.queue_capacity == capacity);
        CHECK((s.queue_capacity == 0 || s.queue_capacity == capacity));
        if (chain && workers == 1) CHECK(s.queue_capacity == 0);
    }
    CHECK(metrics.at("source").in == n);
    CHECK(metrics.at("source").emitted == n);
    CHECK(metrics.at("sink").in == delivered);
    CHECK(metrics.at("sink").out == delivered);
    if (stages == 5) {
        CHECK(metrics.at("drop3").filtered == expected_filtered);
        CHECK(metrics.at("drop3").emitted == delivered);
        for (const char* other : {"source", "double", "inc", "sink"})
            CHECK(metrics.at(other).filtered == 0);
    }
    CHECK(metrics.balanced());
}
