// Broadcast and merge. A stream with several consumers gives each of them every item, in order,
// while the slowest consumer holds the producer back (every ring stays within its capacity and
// the producer never runs further ahead of it than its ring and one hand-off allow); a
// non-copyable stream refuses a second consumer. merge() joins 2 or 3 streams of different
// lengths keeping each input's order; a diamond (broadcast, two branches, merge) delivers every
// item of both branches exactly once; merge refuses streams of different flows and a single
// stream.

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <rill/rill.hpp>

#include "support/stress_config.hpp"
#include "support/watched_run.hpp"

using namespace std::chrono_literals;

namespace {

using Item = std::uint64_t;

/// A hang detector well inside the ctest timeout, not a performance bound.

rill::Runtime& runtime() {
    static rill::Runtime rt({.workers = 2, .allow_oversubscription = true});
    return rt;
}

/// prefix + i (spelled so that GCC 12 does not see a -Wrestrict false positive in "s" + string).
std::string numbered(std::string prefix, int i) {
    prefix += std::to_string(i);
    return prefix;
}

const rill::StageMetrics* find(const rill::FlowMetrics& m, std::string_view name) {
    for (const rill::StageMetrics& s : m.stages) {
        if (s.name == name) return &s;
    }
    return nullptr;
}

struct Problems {
    std::vector<std::string> list;
    void add(std::string p) { list.push_back(std::move(p)); }
    void expect_eq(const std::string& what, std::uint64_t got, std::uint64_t want) {
        if (got != want)
            add(what + " is " + std::to_string(got) + ", expected " + std::to_string(want));
    }
    void expect(bool ok, const std::string& what) {
        if (!ok) add(what);
    }
    [[nodiscard]] std::string str() const {
        std::string s;
        for (const auto& x : list)
            s += (s.empty() ? "" : "; ") + x;
        return s;
    }
};

/// Every row balanced, nothing dropped or left queued, no ring above its capacity.
void check_rows(const rill::FlowMetrics& m, Problems& p) {
    for (const rill::StageMetrics& s : m.stages) {
        p.expect(s.balanced(), "'" + s.name + "' is not balanced");
        p.expect_eq("'" + s.name + "' dropped_on_cancel", s.dropped_on_cancel, 0);
        p.expect_eq("'" + s.name + "' errored", s.errored, 0);
        p.expect_eq("'" + s.name + "' filtered", s.filtered, 0);
        p.expect_eq("'" + s.name + "' queue_depth at the end", s.queue_depth, 0);
        p.expect(s.queue_max <= s.queue_capacity, "'" + s.name + "' queue_max " +
                                                      std::to_string(s.queue_max) + " > capacity " +
                                                      std::to_string(s.queue_capacity));
    }
    p.expect(m.balanced(), "FlowMetrics::balanced() is false");
}

/// What a consumer saw, published by its close() hook.
struct ConsumerReport {
    std::atomic<std::uint64_t> count{0}, sum{0}, out_of_order{0}, closed{0};
};

/// Expects first, first + step, first + 2 step, ...; spins `spin` iterations per item.
struct Consumer {
    std::shared_ptr<ConsumerReport> report;
    Item step = 1;
    unsigned spin = 0;
    Item expect = 0;
    std::uint64_t count = 0, sum = 0, out_of_order = 0;

    void operator()(Item x) {
        if (x != expect) ++out_of_order;
        expect = x + step;
        ++count;
        sum += x;
        for (unsigned k = 0; k < spin; ++k) {
            volatile unsigned sink = k;
            static_cast<void>(sink);
        }
    }
    void close() {
        report->count.fetch_add(count);
        report->sum.fetch_add(sum);
        report->out_of_order.fetch_add(out_of_order);
        report->closed.fetch_add(1);
    }
};

Consumer consumer(std::shared_ptr<ConsumerReport> r, Item step = 1, unsigned spin = 0) {
    Consumer c{std::move(r)};
    c.step = step;
    c.spin = spin;
    return c;
}

void check_consumer(const ConsumerReport& r, const std::string& name, std::uint64_t n,
                    std::uint64_t sum, Problems& p) {
    p.expect_eq(name + " closed", r.closed.load(), 1);
    p.expect_eq(name + ": items", r.count.load(), n);
    p.expect_eq(name + ": checksum", r.sum.load(), sum);
    p.expect_eq(name + ": items out of order", r.out_of_order.load(), 0);
}

}  // namespace

TEST_CASE("broadcast: three consumers, one slow, each gets every item and memory stays bounded",
          "[flow][broadcast][stress]") {
    const bool chain = GENERATE(true, false);
    // "b" is a map between the broadcast and its sink: one copy, or two ordered replicas.
    const std::size_t b_replicas = GENERATE(std::size_t{1}, std::size_t{2});
    constexpr std::size_t kCapacity = 64;
    constexpr std::size_t kBatch = 16;
    const std::uint64_t n = rill::test::stress_items(200'000, 10);
    CAPTURE(chain, b_replicas, n);
    INFO("not run when an earlier configuration stalled: it would only stall again");
    REQUIRE(rill::test::ProgressWatchdog::stalls_so_far() == 0);

    auto ra = std::make_shared<ConsumerReport>();
    auto rb = std::make_shared<ConsumerReport>();
    auto rc = std::make_shared<ConsumerReport>();
    rill::Flow flow({.capacity = kCapacity, .batch = kBatch, .chain = chain});
    auto s = flow.source("gen", rill::iota<Item>(0, n));
    s.sink("a", consumer(ra));
    rill::StageOptions b;
    b.replicas = b_replicas;
    b.ordered = true;
    s.map(
         "b", [](Item x) { return 3 * x; }, b)
        .sink("bs", consumer(rb, 3));
    s.sink("c", consumer(rc, 1, /*spin=*/600));  // the slow one

    rill::Run run = runtime().start(flow);
    // Sample the metrics from this thread while the flow runs: nothing queued in front of a stage
    // is ever above its rings' capacity plus one hand-off per ring, and the source never gets
    // further ahead of the slow consumer than that consumer's ring plus the items the source may
    // hold for want of room (a hand-off or two).
    const std::uint64_t bound = 2 * kCapacity + 4 * kBatch;
    std::uint64_t samples = 0, max_ahead = 0;
    std::vector<std::string> over_capacity;
    std::optional<rill::RunStatus> status;
    {
        // A run that stops moving is cancelled (and fails below) rather than sampled for ever.
        const rill::test::ProgressWatchdog dog(
            "broadcast", [&run] { return rill::test::run_progress(run); },
            [&run] { run.cancel(); });
        while (!run.done()) {
            // The source's count first, then (in a later snapshot) the consumer's: the consumer
            // only moves on, so this never overstates how far ahead the source is.
            const std::uint64_t produced = run.metrics().at("gen").in;
            const rill::FlowMetrics m = run.metrics();
            const std::uint64_t c_in = m.at("c").in;
            max_ahead = std::max(max_ahead, produced > c_in ? produced - c_in : 0);
            for (const rill::StageMetrics& row : m.stages) {
                // queue_depth counts the ring and what its producer holds for want of room (its
                // emitter's overflow, at most one batch; see Edge::depth and test_shutdown.cpp), so
                // a stage with k input rings of kCapacity may show k * (kCapacity + kBatch).
                const std::size_t rings = std::max<std::size_t>(1, row.queue_capacity / kCapacity);
                const std::size_t room = row.queue_capacity + rings * kBatch;
                if (row.queue_depth > room && over_capacity.size() < 10) {
                    over_capacity.push_back("'" + row.name + "' held " +
                                            std::to_string(row.queue_depth) + " with rings of " +
                                            std::to_string(row.queue_capacity) + " in all");
                }
            }
            ++samples;
            std::this_thread::sleep_for(1ms);
        }
        const rill::RunStatus end = run.wait();
        if (!dog.stalled()) status = end;
    }
    const rill::FlowMetrics m = run.metrics();
    INFO(m);
    INFO("samples " << samples << ", the source ran at most " << max_ahead
                    << " items ahead of the slow consumer");
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::completed);
    CHECK(over_capacity.empty());
    for (const auto& o : over_capacity)
        FAIL_CHECK(o);
    CHECK(max_ahead <= bound);

    Problems p;
    check_rows(m, p);
    const std::uint64_t sum = n * (n - 1) / 2;
    check_consumer(*ra, "a", n, sum, p);
    check_consumer(*rb, "bs", n, 3 * sum, p);
    check_consumer(*rc, "c", n, sum, p);
    p.expect_eq("gen in", m.at("gen").in, n);
    for (const char* name : {"a", "c", "bs"})
        p.expect_eq(std::string(name) + " in", m.at(name).in, n);
    try {
        p.expect_eq("sum('b').in", m.sum("b").in, n);
    } catch (const std::exception& e) {
        p.add(std::string("sum('b') threw: ") + e.what());
    }
    CHECK(p.str() == "");
}

TEST_CASE("broadcast: a second consumer of a non-copyable stream is refused", "[flow][broadcast]") {
    using Ptr = std::unique_ptr<Item>;
    constexpr Item kItems = 1000;
    rill::Flow flow;
    auto s = flow.source("ptrs", [i = Item{0}]() mutable -> std::optional<Ptr> {
        if (i == kItems) return std::nullopt;
        return std::make_unique<Item>(i++);
    });
    auto total = std::make_shared<Item>(0);
    s.sink("first", [total](Ptr p) { *total += *p; });
    const auto names_it = [](const std::exception& e) {
        const std::string what = e.what();
        return what.find("second") != std::string::npos || what.find("ptrs") != std::string::npos;
    };
    try {
        s.sink("second", [](Ptr) {});
        FAIL("a second consumer of a stream of std::unique_ptr was accepted");
    } catch (const std::invalid_argument& e) {
        INFO(e.what());
        CHECK(names_it(e));
    }
    CHECK_THROWS_AS(s.map("third", [](Ptr p) { return p; }), std::invalid_argument);

    // The refused consumers left nothing behind: the flow runs with its one consumer.
    rill::Run run = runtime().start(flow);
    const auto status = rill::test::wait_watched(run, "one consumer");
    INFO(run.metrics());
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::completed);
    CHECK(*total == kItems * (kItems - 1) / 2);
}

namespace {

/// An item of input `input` of a merge, the seq-th of that input.
struct Tagged {
    std::uint64_t input = 0;
    std::uint64_t seq = 0;
};

struct MergeReport {
    std::array<std::atomic<std::uint64_t>, 3> count{}, sum{};
    std::atomic<std::uint64_t> out_of_order{0}, bad_input{0}, closed{0};
};

/// Checks that each input's items come in order: seq 0, 1, 2, ... per input.
struct MergeSink {
    std::shared_ptr<MergeReport> report;
    std::array<std::uint64_t, 3> next{}, count{}, sum{};
    std::uint64_t out_of_order = 0, bad_input = 0;
    void operator()(Tagged t) {
        if (t.input >= 3) {
            ++bad_input;
            return;
        }
        if (t.seq != next[t.input]) ++out_of_order;
        next[t.input] = t.seq + 1;
        ++count[t.input];
        sum[t.input] += t.seq;
    }
    void close() {
        for (std::size_t i = 0; i < 3; ++i) {
            report->count[i].fetch_add(count[i]);
            report->sum[i].fetch_add(sum[i]);
        }
        report->out_of_order.fetch_add(out_of_order);
        report->bad_input.fetch_add(bad_input);
        report->closed.fetch_add(1);
    }
};

}  // namespace

TEST_CASE("merge: 2 and 3 streams of different lengths, each input's order kept",
          "[flow][merge][stress]") {
    const int inputs = GENERATE(2, 3);
    const bool chain = GENERATE(true, false);
    const std::size_t capacity = GENERATE(std::size_t{4}, std::size_t{1024});
    const std::uint64_t n = rill::test::stress_items(3'000'000, 30);
    const std::array<std::uint64_t, 3> lengths = {n, n / 2 + 7, n / 3 + 11};
    CAPTURE(inputs, chain, capacity, n);
    INFO("not run when an earlier configuration stalled: it would only stall again");
    REQUIRE(rill::test::ProgressWatchdog::stalls_so_far() == 0);

    auto report = std::make_shared<MergeReport>();
    rill::Flow flow(
        {.capacity = capacity, .batch = std::min<std::size_t>(capacity, 64), .chain = chain});
    std::vector<rill::Stream<Tagged>> streams;
    for (int i = 0; i < inputs; ++i) {
        const auto input = static_cast<std::uint64_t>(i);
        streams.push_back(
            flow.source(numbered("s", i), rill::iota<std::uint64_t>(0, lengths[input]))
                .map(numbered("tag", i), [input](std::uint64_t x) {
                    return Tagged{input, x};
                }));
    }
    rill::Stream<Tagged> joined = inputs == 2
                                      ? rill::merge("joined", streams[0], streams[1])
                                      : rill::merge("joined", streams[0], streams[1], streams[2]);
    joined.sink("all", MergeSink{report});

    rill::Run run = runtime().start(flow);
    const auto status = rill::test::wait_watched(run, "merge");
    const rill::FlowMetrics m = run.metrics();
    INFO(m);
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::completed);

    Problems p;
    check_rows(m, p);
    std::uint64_t total = 0;
    for (int i = 0; i < 3; ++i) {
        const auto input = static_cast<std::size_t>(i);
        const std::string who = numbered("input ", i);
        const std::uint64_t len = i < inputs ? lengths[input] : 0;
        total += len;
        p.expect_eq(who + ": items at the sink", report->count[input].load(), len);
        p.expect_eq(who + ": checksum", report->sum[input].load(),
                    len == 0 ? 0 : len * (len - 1) / 2);
        if (i < inputs) {
            p.expect_eq(numbered("tag", i) + " emitted", m.at(numbered("tag", i)).emitted, len);
        }
    }
    p.expect_eq("sink closed", report->closed.load(), 1);
    p.expect_eq("items out of order within their input", report->out_of_order.load(), 0);
    p.expect_eq("items of no input", report->bad_input.load(), 0);
    const rill::StageMetrics* merge = find(m, "joined");
    REQUIRE(merge != nullptr);
    p.expect_eq("joined in (items from all inputs)", merge->in, total);
    p.expect_eq("joined out", merge->out, total);
    p.expect_eq("joined emitted", merge->emitted, total);
    p.expect_eq("all in (= joined emitted)", m.at("all").in, merge->emitted);
    CHECK(p.str() == "");
}

TEST_CASE("merge: a diamond (broadcast, two branches, merge) delivers both branches' items once",
          "[flow][merge][broadcast][stress]") {
    const bool chain = GENERATE(true, false);
    const std::size_t capacity = GENERATE(std::size_t{4}, std::size_t{1024});
    // Branch b as one stage, or as two ordered replicas (its hidden merge then feeds the merge).
    const std::size_t b_replicas = GENERATE(std::size_t{1}, std::size_t{2});
    const std::uint64_t n = rill::test::stress_items(2'000'000, 30);
    CAPTURE(chain, capacity, b_replicas, n);
    INFO("not run when an earlier configuration stalled: it would only stall again");
    REQUIRE(rill::test::ProgressWatchdog::stalls_so_far() == 0);

    // x goes to 2x through branch a and 2x + 1 through branch b: the sink sees each of 0 .. 2n-1
    // once, the even ones in order and the odd ones in order.
    struct Ledger {
        explicit Ledger(std::uint64_t size) : seen(size) {}
        std::vector<std::uint8_t> seen;  // written by the sink only, read after the run
        std::atomic<std::uint64_t> duplicates{0}, out_of_range{0}, out_of_order{0}, closed{0};
    };
    auto ledger = std::make_shared<Ledger>(2 * n);
    struct DiamondSink {
        std::shared_ptr<Ledger> ledger;
        std::array<std::uint64_t, 2> next{0, 1};
        std::uint64_t duplicates = 0, out_of_range = 0, out_of_order = 0;
        void operator()(Item x) {
            if (x >= ledger->seen.size()) {
                ++out_of_range;
                return;
            }
            if (ledger->seen[x]++ != 0) ++duplicates;
            if (x != next[x % 2]) ++out_of_order;
            next[x % 2] = x + 2;
        }
        void close() {
            ledger->duplicates.fetch_add(duplicates);
            ledger->out_of_range.fetch_add(out_of_range);
            ledger->out_of_order.fetch_add(out_of_order);
            ledger->closed.fetch_add(1);
        }
    };

    rill::Flow flow(
        {.capacity = capacity, .batch = std::min<std::size_t>(capacity, 64), .chain = chain});
    auto src = flow.source("src", rill::iota<Item>(0, n));
    auto a = src.map("a", [](Item x) { return 2 * x; });
    rill::StageOptions bo;
    bo.replicas = b_replicas;
    bo.ordered = true;
    auto b = src.map(
        "b", [](Item x) { return 2 * x + 1; }, bo);
    rill::merge("join", a, b).sink("sink", DiamondSink{ledger});

    rill::Run run = runtime().start(flow);
    const auto status = rill::test::wait_watched(run, "merge");
    const rill::FlowMetrics m = run.metrics();
    INFO(m);
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::completed);

    Problems p;
    check_rows(m, p);
    p.expect_eq("sink closed", ledger->closed.load(), 1);
    p.expect_eq("items twice", ledger->duplicates.load(), 0);
    p.expect_eq("items out of range", ledger->out_of_range.load(), 0);
    p.expect_eq("items out of order within their branch", ledger->out_of_order.load(), 0);
    std::uint64_t missing = 0;
    for (std::uint8_t v : ledger->seen)
        missing += v == 0 ? 1 : 0;
    p.expect_eq("items never delivered", missing, 0);
    p.expect_eq("src in", m.at("src").in, n);
    p.expect_eq("a in", m.at("a").in, n);
    try {
        p.expect_eq("sum('b').in", m.sum("b").in, n);
    } catch (const std::exception& e) {
        p.add(std::string("sum('b') threw: ") + e.what());
    }
    p.expect_eq("join in", m.at("join").in, 2 * n);
    p.expect_eq("sink in", m.at("sink").in, 2 * n);
    CHECK(p.str() == "");
}

TEST_CASE("merge: bad input", "[flow][merge][bad_input]") {
    SECTION("streams of different flows") {
        rill::Flow one;
        rill::Flow two;
        auto a = one.source("a", rill::iota<Item>(0, 10));
        auto b = two.source("b", rill::iota<Item>(0, 10));
        CHECK_THROWS_AS(rill::merge("m", a, b), std::invalid_argument);
        rill::Flow three;
        auto c = three.source("c", rill::iota<Item>(0, 10));
        auto d = three.source("d", rill::iota<Item>(0, 10));
        CHECK_THROWS_AS(rill::merge("m", c, d, a), std::invalid_argument);
    }
    SECTION("one stream") {
        rill::Flow flow;
        auto a = flow.source("a", rill::iota<Item>(0, 10));
        CHECK_THROWS_AS(rill::merge("m", a), std::invalid_argument);
    }
    SECTION("two streams of one flow are fine") {
        rill::Flow flow;
        auto a = flow.source("a", rill::iota<Item>(0, 10));
        auto b = flow.source("b", rill::iota<Item>(0, 10));
        CHECK_NOTHROW(rill::merge("m", a, b).sink("end", [](Item) {}));
    }
}
