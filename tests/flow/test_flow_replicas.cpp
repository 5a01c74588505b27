// Replicated stages (fan-out to n copies of a stage, fan-in of their outputs, ordered or not):
// every item of iota(0, N) is handled by exactly one replica and every output reaches the sink
// exactly once (checksum and per-item ledger); an ordered stage keeps the input order (the sink
// checks that each item is the next output expected after the previous one); every replica's
// metrics row `name[j]` accounts for what it received, and agrees with what that replica's own
// copy of the stage object counted. Then bad options, max_replicas, and shutdown with replicas:
// stop(deadline) under full backpressure and cancel(), each with an exact ledger.

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <rill/rill.hpp>

#include "runtime/runtime_support.hpp"
#include "support/matchers.hpp"
#include "support/stress_config.hpp"
#include "support/watched_run.hpp"

using namespace std::chrono_literals;
using rill::test::Clock;

namespace {

using Item = std::uint64_t;

/// How long a run that should end may take before the test calls it a hang and shows the
/// metrics. Not a performance bound: a hang detector well inside the ctest timeout.
constexpr auto kHang = 240s;

/// One Runtime per worker count, reused across configurations (see test_flow_checksum.cpp).
rill::Runtime& runtime_with(unsigned workers) {
    static std::unique_ptr<rill::Runtime> runtime;
    if (!runtime || runtime->workers() != workers) {
        runtime.reset();
        runtime = std::make_unique<rill::Runtime>(
            rill::RuntimeOptions{.workers = workers, .allow_oversubscription = true});
    }
    return *runtime;
}

// ---- metrics helpers ------------------------------------------------------------------------

const rill::StageMetrics* find(const rill::FlowMetrics& m, std::string_view name) {
    for (const rill::StageMetrics& s : m.stages) {
        if (s.name == name) return &s;
    }
    return nullptr;
}

/// The metrics row of replica j of a stage with r replicas.
std::string row_name(const std::string& stage, std::size_t r, std::size_t j) {
    return r == 1 ? stage : stage + "[" + std::to_string(j) + "]";
}

std::string join(const std::vector<std::string>& parts) {
    std::string s;
    for (const auto& x : parts)
        s += (s.empty() ? "" : "; ") + x;
    return s;
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
    [[nodiscard]] std::string str() const { return join(list); }
};

/// Every row balanced, nothing left queued, no ring above its capacity.
void check_rows(const rill::FlowMetrics& m, Problems& p, bool aborted) {
    for (const rill::StageMetrics& s : m.stages) {
        p.expect(s.balanced(), "'" + s.name + "' is not balanced: in " + std::to_string(s.in) +
                                   " != accounted " + std::to_string(s.accounted()));
        p.expect(s.queue_max <= s.queue_capacity, "'" + s.name + "' queue_max " +
                                                      std::to_string(s.queue_max) + " > capacity " +
                                                      std::to_string(s.queue_capacity));
        if (!aborted) p.expect_eq("'" + s.name + "' dropped_on_cancel", s.dropped_on_cancel, 0);
        p.expect_eq("'" + s.name + "' queue_depth at the end", s.queue_depth, 0);
    }
    p.expect(m.balanced(), "FlowMetrics::balanced() is false");
}

/// The replica rows of `stage` exist (named `stage[j]` when r > 1, `stage` when r == 1), there is
/// no other, and FlowMetrics::sum adds them up. Returns the rows, replica j's at j (nullptr when
/// it is missing).
std::vector<const rill::StageMetrics*> replica_rows(const rill::FlowMetrics& m,
                                                    const std::string& stage, std::size_t r,
                                                    Problems& p) {
    std::vector<const rill::StageMetrics*> rows;
    rill::StageMetrics total;
    for (std::size_t j = 0; j < r; ++j) {
        const rill::StageMetrics* s = find(m, row_name(stage, r, j));
        rows.push_back(s);
        if (s == nullptr) {
            p.add("no metrics row '" + row_name(stage, r, j) + "'");
            continue;
        }
        total.in += s->in;
        total.out += s->out;
        total.filtered += s->filtered;
        total.errored += s->errored;
        total.dropped_on_cancel += s->dropped_on_cancel;
        total.emitted += s->emitted;
    }
    if (r > 1) {
        p.expect(find(m, stage) == nullptr, "a plain row '" + stage + "' besides its replicas");
        p.expect(find(m, row_name(stage, 2, r)) == nullptr,
                 "a row '" + row_name(stage, 2, r) + "' beyond the last replica");
    }
    try {
        const rill::StageMetrics sum = m.sum(stage);
        p.expect_eq("sum('" + stage + "').in", sum.in, total.in);
        p.expect_eq("sum('" + stage + "').out", sum.out, total.out);
        p.expect_eq("sum('" + stage + "').filtered", sum.filtered, total.filtered);
        p.expect_eq("sum('" + stage + "').errored", sum.errored, total.errored);
        p.expect_eq("sum('" + stage + "').dropped_on_cancel", sum.dropped_on_cancel,
                    total.dropped_on_cancel);
        p.expect_eq("sum('" + stage + "').emitted", sum.emitted, total.emitted);
    } catch (const std::exception& e) {
        p.add("sum('" + stage + "') threw: " + e.what());
    }
    return rows;
}

rill::StageMetrics add_up(const std::vector<const rill::StageMetrics*>& rows) {
    rill::StageMetrics t;
    for (const rill::StageMetrics* s : rows) {
        if (s == nullptr) continue;
        t.in += s->in;
        t.out += s->out;
        t.filtered += s->filtered;
        t.errored += s->errored;
        t.dropped_on_cancel += s->dropped_on_cancel;
        t.emitted += s->emitted;
    }
    return t;
}

/// What reaches `next` from the replicas of `stage`: through the hidden `stage.merge` when there
/// is one (it must be balanced and pass everything on), else directly. Checks the edge.
void check_fan_in(const rill::FlowMetrics& m, const std::string& stage,
                  const rill::StageMetrics& from, const rill::StageMetrics& into, bool must_merge,
                  Problems& p) {
    const rill::StageMetrics* merge = find(m, stage + ".merge");
    if (must_merge) p.expect(merge != nullptr, "no hidden row '" + stage + ".merge'");
    if (merge != nullptr) {
        p.expect_eq("'" + stage + ".merge' in (= replicas' emitted)", merge->in, from.emitted);
        p.expect_eq("'" + stage + ".merge' filtered+errored", merge->filtered + merge->errored, 0);
        p.expect_eq("the stage after '" + stage + ".merge': in (= merge's emitted)", into.in,
                    merge->emitted);
    } else {
        p.expect_eq("the stage after '" + stage + "': in (= replicas' emitted)", into.in,
                    from.emitted);
    }
}

// ---- stage objects that know their replica -----------------------------------------------------

constexpr std::size_t kSlots = 80;  // more than any replica count used here (max_replicas 64)

/// What one copy of a stage object saw. The copy counts in its own members on the per-item path
/// and publishes here in its close() hook; the test reads after the run.
struct alignas(64) Slot {
    std::atomic<std::uint64_t> opened{0}, closed{0}, replicas{0}, calls{0}, count{0}, sum{0},
        out_of_order{0};
};

struct Shared {
    explicit Shared(std::uint64_t ledger_size) : ledger(ledger_size) {}
    std::array<Slot, kSlots> work;
    std::array<Slot, kSlots> sink;
    std::atomic<std::uint64_t> bad_replica{0};  ///< a replica() out of range, or no open()
    /// ledger[v]: how many times output v reached a sink.
    std::vector<std::atomic<std::uint8_t>> ledger;
    std::atomic<std::uint64_t> duplicates{0};
    std::atomic<std::uint64_t> unexpected{0};  ///< outputs no input should produce
};

/// Learns its replica in open(); counts its calls; reports them in close().
struct Probe {
    explicit Probe(std::shared_ptr<Shared> s, bool on_sink_side = false)
        : shared(std::move(s)), sink_side(on_sink_side) {}

    std::shared_ptr<Shared> shared;
    bool sink_side = false;
    Slot* slot = nullptr;
    std::uint64_t calls = 0;

    void open(rill::StageContext& ctx) {
        auto& table = sink_side ? shared->sink : shared->work;
        auto j = static_cast<std::size_t>(ctx.replica());
        const auto n = static_cast<std::size_t>(ctx.replicas());
        if (j >= n || j >= kSlots - 1) {
            shared->bad_replica.fetch_add(1);
            j = kSlots - 1;
        }
        slot = &table[j];
        slot->opened.fetch_add(1);
        slot->replicas.store(n);
    }
    void close() {
        if (slot == nullptr) {
            shared->bad_replica.fetch_add(1);  // closed without being opened
            return;
        }
        slot->calls.fetch_add(calls);
        slot->closed.fetch_add(1);
    }
};

/// Shapes of the replicated stage "work". Each says which outputs it makes: exactly the values
/// v < limit(n) with valid(v), for inputs iota(0, n); and what happens to input x.
enum class Fate { out, filtered, errored };

struct MapWork : Probe {
    using Probe::Probe;
    Item operator()(Item x) {
        ++calls;
        return x + 1;
    }
};
struct FilterWork : Probe {
    using Probe::Probe;
    bool operator()(const Item& x) {
        ++calls;
        return x % 3 != 0;
    }
};
struct FlatMapWork : Probe {
    using Probe::Probe;
    void operator()(Item x, rill::Emitter<Item>& out) {
        ++calls;
        for (Item k = 0; k < x % 4; ++k)
            out.emit(4 * x + k);
    }
};
struct ThrowingWork : Probe {
    using Probe::Probe;
    Item operator()(Item x) {
        ++calls;
        if (x % 97 == 0) throw std::runtime_error("item " + std::to_string(x) + " fails");
        return x;
    }
};

/// A 1:1 map x -> x + 1; the sink sees 1, 2, 3, ... when ordered.
struct MapShape {
    static constexpr const char* kName = "map";
    static constexpr bool kReplicatedSink = false;
    static Item limit(Item n) { return n + 1; }
    static bool valid(Item v) { return v >= 1; }
    static Fate fate(Item) { return Fate::out; }
    static rill::Stream<Item> add(rill::Stream<Item> in, rill::StageOptions o,
                                  std::shared_ptr<Shared> s) {
        return in.map("work", MapWork(std::move(s)), o);
    }
};
/// Drops the multiples of 3; ordered keeps the order of the survivors.
struct FilterShape {
    static constexpr const char* kName = "filter";
    static constexpr bool kReplicatedSink = false;
    static Item limit(Item n) { return n; }
    static bool valid(Item v) { return v % 3 != 0; }
    static Fate fate(Item x) { return x % 3 == 0 ? Fate::filtered : Fate::out; }
    static rill::Stream<Item> add(rill::Stream<Item> in, rill::StageOptions o,
                                  std::shared_ptr<Shared> s) {
        return in.filter("work", FilterWork(std::move(s)), o);
    }
};
/// x emits x % 4 outputs (0 to 3): 4x, 4x + 1, ...; ordered keeps them in input order.
struct FlatMapShape {
    static constexpr const char* kName = "flat_map";
    static constexpr bool kReplicatedSink = false;
    static Item limit(Item n) { return 4 * n; }
    static bool valid(Item v) { return v % 4 < (v / 4) % 4; }
    static Fate fate(Item) { return Fate::out; }
    static rill::Stream<Item> add(rill::Stream<Item> in, rill::StageOptions o,
                                  std::shared_ptr<Shared> s) {
        return in.flat_map("work", FlatMapWork(std::move(s)), o);
    }
};
/// A map that throws on multiples of 97 under ErrorPolicy::skip: those are counted as errored,
/// the rest go on (in order when ordered).
struct SkipErrorsShape {
    static constexpr const char* kName = "map throwing under skip";
    static constexpr bool kReplicatedSink = false;
    static Item limit(Item n) { return n; }
    static bool valid(Item v) { return v % 97 != 0; }
    static Fate fate(Item x) { return x % 97 == 0 ? Fate::errored : Fate::out; }
    static rill::Stream<Item> add(rill::Stream<Item> in, rill::StageOptions o,
                                  std::shared_ptr<Shared> s) {
        o.on_error = rill::ErrorPolicy::skip();
        return in.map("work", ThrowingWork(std::move(s)), o);
    }
};
/// MapShape followed by a sink with as many replicas as the map (through the hidden merge).
struct ReplicatedSinkShape : MapShape {
    static constexpr const char* kName = "map then replicated sink";
    static constexpr bool kReplicatedSink = true;
};

/// Checks what reaches it. `successor`: each item is the next valid output after the previous
/// one (an ordered stream into one sink). `increasing`: each item is above the previous one (an
/// ordered stream dealt to several sink replicas: each gets an increasing part of it).
template <class Shape>
struct CheckingSink : Probe {
    using Probe::Probe;
    bool successor = false;
    bool increasing = false;
    Item expect = next_valid(0);
    Item previous = 0;
    std::uint64_t count = 0;
    std::uint64_t sum = 0;
    std::uint64_t out_of_order = 0;

    static Item next_valid(Item v) {
        while (!Shape::valid(v))
            ++v;
        return v;
    }
    void operator()(Item v) {
        ++calls;
        if (successor) {
            if (v != expect) ++out_of_order;
            expect = next_valid(v + 1);
        } else if (increasing && count != 0 && v <= previous) {
            ++out_of_order;
        }
        previous = v;
        ++count;
        sum += v;
        if (v < shared->ledger.size() && Shape::valid(v)) {
            if (shared->ledger[v].fetch_add(1, std::memory_order_relaxed) != 0)
                shared->duplicates.fetch_add(1, std::memory_order_relaxed);
        } else {
            shared->unexpected.fetch_add(1, std::memory_order_relaxed);
        }
    }
    void close() {
        Probe::close();
        if (slot == nullptr) return;
        slot->count.fetch_add(count);
        slot->sum.fetch_add(sum);
        slot->out_of_order.fetch_add(out_of_order);
    }
};

/// Each copy of a stage object was opened and closed once, knew it was replica j of r, and
/// counted as many calls as its metrics row received.
void check_slots(const std::array<Slot, kSlots>& slots,
                 const std::vector<const rill::StageMetrics*>& rows, std::size_t r,
                 const std::string& stage, Problems& p) {
    for (std::size_t j = 0; j < kSlots; ++j) {
        const Slot& s = slots[j];
        const std::string who = stage + " replica " + std::to_string(j);
        if (j >= r) {
            p.expect_eq(who + " (none expected) opened", s.opened.load(), 0);
            continue;
        }
        p.expect_eq(who + " opened", s.opened.load(), 1);
        p.expect_eq(who + " closed", s.closed.load(), 1);
        p.expect_eq(who + " was told replicas()", s.replicas.load(), r);
        if (j < rows.size() && rows[j] != nullptr)
            p.expect_eq(who + ": calls of its stage object vs its row's in", s.calls.load(),
                        rows[j]->in);
    }
}

enum class Chaining { flow_on, flow_off, stage_off };
const char* to_string(Chaining c) {
    switch (c) {
        case Chaining::flow_on:
            return "FlowOptions::chain true";
        case Chaining::flow_off:
            return "FlowOptions::chain false";
        case Chaining::stage_off:
            return "StageOptions::chain false on the replicated stages";
    }
    return "?";
}

struct Setup {
    const char* name;
    unsigned workers;
    std::size_t capacity;
    std::size_t batch;
    std::uint64_t divisor;  ///< of the item count
};

}  // namespace

TEMPLATE_TEST_CASE(
    "replicas: every item once, input order kept when ordered, every replica row "
    "accounted for",
    "[flow][replicas][stress]", MapShape, FilterShape, FlatMapShape, SkipErrorsShape,
    ReplicatedSinkShape) {
    using Shape = TestType;
    // Full size on two workers with the default rings; a tenth with rings of 8 and batches of 2
    // (a hand-off every two items, reorder windows of a few items) and on one worker (every
    // replica and the sink take turns on it, so an ordered merge must never wait for a replica
    // that cannot run).
    const Setup setup = GENERATE(values<Setup>({
        {"2 workers, rings of 1024, batches of 64", 2, 1024, 64, 1},
        {"2 workers, rings of 8, batches of 2", 2, 8, 2, 10},
        {"1 worker, rings of 1024, batches of 64", 1, 1024, 64, 10},
    }));
    const std::size_t replicas = GENERATE(std::size_t{1}, std::size_t{2}, std::size_t{4});
    const bool ordered = GENERATE(false, true);
    const Chaining chaining = GENERATE(Chaining::flow_on, Chaining::flow_off, Chaining::stage_off);
    // One replica is dealt everything whatever the distribution; ordered replicas are dealt
    // round robin only (the bad-options test checks the refusal): least loaded only where it
    // means something.
    const rill::Distribution distribution = GENERATE_COPY(Catch::Generators::from_range(
        replicas == 1 || ordered
            ? std::vector{rill::Distribution::round_robin}
            : std::vector{rill::Distribution::round_robin, rill::Distribution::least_loaded}));
    const std::uint64_t n =
        std::max<std::uint64_t>(rill::test::stress_items(3'000'000, 25) / setup.divisor, 1);
    const std::size_t sink_replicas = Shape::kReplicatedSink ? replicas : 1;
    CAPTURE(Shape::kName, setup.name, replicas, ordered, to_string(chaining),
            distribution == rill::Distribution::round_robin ? "round_robin" : "least_loaded",
            sink_replicas, n);
    INFO("not run when an earlier configuration stalled: it would only stall again");
    REQUIRE(rill::test::ProgressWatchdog::stalls_so_far() == 0);

    // What the stage must do with iota(0, n).
    std::uint64_t filtered = 0, errored = 0, outputs = 0, output_sum = 0;
    for (Item x = 0; x < n; ++x) {
        const Fate f = Shape::fate(x);
        filtered += f == Fate::filtered ? 1 : 0;
        errored += f == Fate::errored ? 1 : 0;
    }
    const Item limit = Shape::limit(n);
    for (Item v = 0; v < limit; ++v) {
        if (!Shape::valid(v)) continue;
        ++outputs;
        output_sum += v;
    }

    auto shared = std::make_shared<Shared>(limit);
    rill::Flow flow({.capacity = setup.capacity,
                     .batch = setup.batch,
                     .chain = chaining != Chaining::flow_off});
    rill::StageOptions work_options;
    work_options.replicas = replicas;
    work_options.ordered = ordered;
    work_options.distribution = distribution;
    if (chaining == Chaining::stage_off) work_options.chain = false;
    rill::StageOptions sink_options;
    sink_options.replicas = sink_replicas;
    if (chaining == Chaining::stage_off) sink_options.chain = false;

    CheckingSink<Shape> sink(shared, /*on_sink_side=*/true);
    sink.successor = ordered && sink_replicas == 1;
    sink.increasing = ordered && sink_replicas > 1;
    auto source = flow.source("source", rill::iota<Item>(0, n));
    Shape::add(source, work_options, shared).sink("sink", sink, sink_options);

    rill::Run run = runtime_with(setup.workers).start(flow);
    const std::optional<rill::RunStatus> status = rill::test::wait_watched(run, "replicas");
    const rill::FlowMetrics m = run.metrics();
    INFO(m);
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::completed);

    Problems p;
    check_rows(m, p, /*aborted=*/false);
    const rill::StageMetrics* src = find(m, "source");
    REQUIRE(src != nullptr);
    p.expect_eq("source in", src->in, n);
    p.expect_eq("source emitted", src->emitted, n);

    const auto work_rows = replica_rows(m, "work", replicas, p);
    const rill::StageMetrics work = add_up(work_rows);
    p.expect_eq("work in (all replicas)", work.in, n);
    p.expect_eq("work filtered", work.filtered, filtered);
    p.expect_eq("work errored", work.errored, errored);
    p.expect_eq("work out", work.out, n - filtered - errored);
    p.expect_eq("work emitted", work.emitted, outputs);
    if (replicas > 1 && distribution == rill::Distribution::round_robin) {
        // Dealt round robin in chunks of at most a batch: with n >> replicas * batch, everyone
        // gets some.
        for (const rill::StageMetrics* s : work_rows) {
            if (s != nullptr)
                p.expect(s->in > 0, "'" + s->name + "' was dealt nothing round robin");
        }
    }
    check_slots(shared->work, work_rows, replicas, "work", p);

    const auto sink_rows = replica_rows(m, "sink", sink_replicas, p);
    const rill::StageMetrics sinks = add_up(sink_rows);
    check_fan_in(m, "work", work, sinks, /*must_merge=*/replicas > 1 && sink_replicas > 1, p);
    p.expect_eq("sink in", sinks.in, outputs);
    p.expect_eq("sink out", sinks.out, outputs);
    check_slots(shared->sink, sink_rows, sink_replicas, "sink", p);
    for (const rill::StageMetrics& s : m.stages) {
        if (s.name.rfind("work", 0) != 0) {
            p.expect_eq("'" + s.name + "' filtered", s.filtered, 0);
            p.expect_eq("'" + s.name + "' errored", s.errored, 0);
        }
    }

    // What the sink copies saw: the checksum, the order and the per-item ledger.
    std::uint64_t count = 0, sum = 0, out_of_order = 0;
    for (const Slot& s : shared->sink) {
        count += s.count.load();
        sum += s.sum.load();
        out_of_order += s.out_of_order.load();
    }
    p.expect_eq("items at the sink", count, outputs);
    p.expect_eq("checksum at the sink", sum, output_sum);
    p.expect_eq("items out of order at the sink", out_of_order, 0);
    p.expect_eq("outputs delivered twice", shared->duplicates.load(), 0);
    p.expect_eq("outputs that no input makes", shared->unexpected.load(), 0);
    p.expect_eq("stage objects with a bad replica() or no open()", shared->bad_replica.load(), 0);
    std::uint64_t missing = 0;
    for (Item v = 0; v < limit; ++v) {
        if (Shape::valid(v) && shared->ledger[v].load(std::memory_order_relaxed) == 0) ++missing;
    }
    p.expect_eq("outputs never delivered", missing, 0);
    CHECK(p.str() == "");
}

TEST_CASE("replicas: as many as max_replicas, ordered or not", "[flow][replicas]") {
    // 64 replicas (the default max_replicas) share two workers: 64 tasks dealt to round robin,
    // merged back in order.
    const bool ordered = GENERATE(false, true);
    const std::size_t replicas = rill::FlowOptions{}.max_replicas;
    const std::uint64_t n = rill::test::stress_items(1'000'000, 10);
    CAPTURE(ordered, replicas, n);
    auto shared = std::make_shared<Shared>(MapShape::limit(n));
    rill::Flow flow({.capacity = 64, .batch = 16});
    rill::StageOptions o;
    o.replicas = replicas;
    o.ordered = ordered;
    CheckingSink<MapShape> sink(shared, /*on_sink_side=*/true);
    sink.successor = ordered;
    MapShape::add(flow.source("source", rill::iota<Item>(0, n)), o, shared).sink("sink", sink);

    rill::Run run = runtime_with(2).start(flow);
    const auto status = rill::test::wait_watched(run, "many replicas");
    const rill::FlowMetrics m = run.metrics();
    INFO(m);
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::completed);
    Problems p;
    check_rows(m, p, false);
    const auto rows = replica_rows(m, "work", replicas, p);
    p.expect_eq("work in", add_up(rows).in, n);
    check_slots(shared->work, rows, replicas, "work", p);
    p.expect_eq("items at the sink", shared->sink[0].count.load(), n);
    p.expect_eq("checksum at the sink", shared->sink[0].sum.load(), n * (n + 1) / 2);
    p.expect_eq("out of order", shared->sink[0].out_of_order.load(), 0);
    p.expect_eq("duplicates", shared->duplicates.load(), 0);
    CHECK(p.str() == "");
}

// ---- bad input --------------------------------------------------------------------------------

namespace {

/// A source, then the stage under test of the given kind on `opts`, then a sink.
void add_stage(const std::string& kind, rill::StageOptions opts,
               rill::FlowOptions flow_options = {}) {
    rill::Flow flow(flow_options);
    auto s = flow.source("numbers", rill::iota<Item>(0, 10));
    if (kind == "map") {
        s.map(
             "stage_under_test", [](Item x) { return x; }, opts)
            .sink("end", [](Item) {});
    } else if (kind == "filter") {
        s.filter(
             "stage_under_test", [](const Item&) { return true; }, opts)
            .sink("end", [](Item) {});
    } else if (kind == "flat_map") {
        s.flat_map(
             "stage_under_test", [](Item x, rill::Emitter<Item>& out) { out.emit(x + 0); }, opts)
            .sink("end", [](Item) {});
    } else if (kind == "batch") {
        s.per_batch(
             "stage_under_test",
             [](std::span<Item> xs, rill::Emitter<Item>& out) {
                 for (Item x : xs)
                     out.emit(x + 0);
             },
             opts)
            .sink("end", [](Item) {});
    } else {
        s.sink(
            "stage_under_test", [](Item) {}, opts);
    }
}

}  // namespace

TEST_CASE("replicas: bad options are refused naming the stage and the value",
          "[flow][replicas][bad_input]") {
    const std::string kind =
        GENERATE(as<std::string>{}, "map", "filter", "flat_map", "batch", "sink");
    CAPTURE(kind);
    SECTION("replicas 0") {
        CHECK_THROWS_MATCHES(add_stage(kind, {.replicas = 0}), std::invalid_argument,
                             MessageContainsAll({"stage_under_test", "replicas", "0"}));
    }
    SECTION("replicas above the default max_replicas") {
        const std::size_t too_many = rill::FlowOptions{}.max_replicas + 1;
        CHECK_THROWS_MATCHES(
            add_stage(kind, {.replicas = too_many}), std::invalid_argument,
            MessageContainsAll({"stage_under_test", "replicas", std::to_string(too_many)}));
        CHECK_NOTHROW(add_stage(kind, {.replicas = rill::FlowOptions{}.max_replicas}));
    }
    SECTION("replicas above a flow's own max_replicas") {
        CHECK_THROWS_MATCHES(add_stage(kind, {.replicas = 5}, {.max_replicas = 4}),
                             std::invalid_argument,
                             MessageContainsAll({"stage_under_test", "replicas", "5"}));
        CHECK_NOTHROW(add_stage(kind, {.replicas = 4}, {.max_replicas = 4}));
        CHECK_NOTHROW(add_stage(kind, {.replicas = 1}, {.max_replicas = 1}));
    }
    SECTION("ordered replicas are dealt round robin: least_loaded is refused") {
        CHECK_NOTHROW(add_stage(kind, {.replicas = 1, .ordered = true}));
        CHECK_NOTHROW(add_stage(
            kind,
            {.replicas = 1, .ordered = true, .distribution = rill::Distribution::least_loaded}));
        CHECK_THROWS_MATCHES(add_stage(kind, {.replicas = 3,
                                              .ordered = true,
                                              .distribution = rill::Distribution::least_loaded}),
                             std::invalid_argument,
                             MessageContainsAll({"stage_under_test", "ordered", "round_robin"}));
    }
}

TEST_CASE("replicas: a source cannot be replicated, and max_replicas is checked",
          "[flow][replicas][bad_input]") {
    SECTION("a source with replicas 2") {
        rill::Flow flow;
        CHECK_THROWS_MATCHES(flow.source("numbers", rill::iota<Item>(0, 10), {.replicas = 2}),
                             std::invalid_argument, MessageContainsAll({"numbers", "2"}));
    }
    SECTION("a source with replicas 0") {
        rill::Flow flow;
        CHECK_THROWS_MATCHES(flow.source("numbers", rill::iota<Item>(0, 10), {.replicas = 0}),
                             std::invalid_argument, MessageContainsAll({"numbers", "0"}));
    }
    SECTION("an inlet (a source) with replicas 2") {
        rill::Flow flow;
        CHECK_THROWS_MATCHES(flow.inlet<Item>("feed", {}, {.replicas = 2}), std::invalid_argument,
                             MessageContainsAll({"feed", "2"}));
    }
    SECTION("a source with replicas 1 is fine") {
        rill::Flow flow;
        CHECK_NOTHROW(flow.source("numbers", rill::iota<Item>(0, 10), {.replicas = 1}));
    }
    SECTION("FlowOptions::max_replicas 0 and above kMaxReplicas") {
        CHECK_THROWS_MATCHES(rill::Flow({.max_replicas = 0}), std::invalid_argument,
                             MessageContainsAll({"max_replicas", "0"}));
        const std::size_t too_many = rill::kMaxReplicas + 1;
        CHECK_THROWS_MATCHES(rill::Flow({.max_replicas = too_many}), std::invalid_argument,
                             MessageContainsAll({"max_replicas", std::to_string(too_many)}));
        CHECK_NOTHROW(rill::Flow({.max_replicas = rill::kMaxReplicas}));
    }
}

// ---- shutdown with replicas -------------------------------------------------------------------

namespace {

/// The sink's side of the shutdown tests: checks that items come 0, 1, 2, ... (ordered) or at
/// least once each (a ledger of the first kLedger values), stalls on the gate from item
/// `stall_at` on while it is closed, and spins `spin` iterations per item.
struct SlowSinkLog {
    static constexpr std::size_t kLedger = std::size_t{1} << 22;
    rill::test::Gate gate;
    std::uint64_t stall_at = ~std::uint64_t{0};
    unsigned spin = 0;
    bool ordered = false;
    std::atomic<std::uint64_t> seen{0};
    std::atomic<std::uint64_t> out_of_order{0};
    std::atomic<std::uint64_t> duplicates{0};
    std::atomic<std::uint64_t> beyond_ledger{0};
    std::vector<std::uint8_t> ledger = std::vector<std::uint8_t>(kLedger);  // the sink's only
};

struct SlowSink {
    SlowSinkLog* log;
    void operator()(Item x) const {
        // relaxed: only this stage's worker writes; the test reads after the run ends or polls.
        const std::uint64_t i = log->seen.load(std::memory_order_relaxed);
        if (log->ordered && x != i) log->out_of_order.fetch_add(1, std::memory_order_relaxed);
        if (x < SlowSinkLog::kLedger) {
            if (log->ledger[x]++ != 0) log->duplicates.fetch_add(1, std::memory_order_relaxed);
        } else {
            log->beyond_ledger.fetch_add(1, std::memory_order_relaxed);
        }
        if (i >= log->stall_at) log->gate.pass();
        for (unsigned k = 0; k < log->spin; ++k) {
            volatile unsigned sink = k;
            static_cast<void>(sink);
        }
        log->seen.store(i + 1, std::memory_order_relaxed);
    }
};

/// Endless source -> "work" (identity, 2 or 4 replicas, ordered or not), all on worker 0 -> sink
/// on worker 1; rings of 4, batches of 4, so that the flow fills quickly. While the sink stalls in
/// user code, worker 0 goes on until every ring is full.
constexpr std::size_t kSlowBatch = 4;

rill::Flow slow_flow(SlowSinkLog& log, std::size_t replicas, bool ordered, bool chain) {
    rill::Flow flow({.capacity = 4, .batch = kSlowBatch, .chain = chain});
    rill::StageOptions work;
    work.worker = 0u;
    work.replicas = replicas;
    work.ordered = ordered;
    flow.source("src", rill::test::EndlessSource<Item>{}, {.worker = 0u})
        .map(
            "work", [](Item x) { return x; }, work)
        .sink("sink", SlowSink{&log}, {.worker = 1u});
    return flow;
}

/// The ledger of src -> work[0..r-1] -> (work.merge) -> sink after the run: every row balanced,
/// every edge conserved, and what the source produced reached the sink or was dropped, once.
void check_shutdown_ledger(const rill::FlowMetrics& m, const SlowSinkLog& log, std::size_t replicas,
                           bool aborted, Problems& p) {
    check_rows(m, p, aborted);
    const rill::StageMetrics* src = find(m, "src");
    const rill::StageMetrics* sink = find(m, "sink");
    if (src == nullptr || sink == nullptr) {
        p.add("no row 'src' or 'sink'");
        return;
    }
    const auto rows = replica_rows(m, "work", replicas, p);
    const rill::StageMetrics work = add_up(rows);
    p.expect_eq("work in (= src emitted)", work.in, src->emitted);
    check_fan_in(m, "work", work, *sink, false, p);
    std::uint64_t dropped = 0, lost = 0;
    for (const rill::StageMetrics& s : m.stages) {
        dropped += s.dropped_on_cancel;
        lost += s.filtered + s.errored;
    }
    p.expect_eq("src in (produced) vs sink out + dropped + filtered + errored", src->in,
                sink->out + dropped + lost);
    p.expect_eq("filtered + errored", lost, 0);
    if (aborted) p.expect(dropped > 0, "the run was aborted with full rings: none dropped");
    p.expect_eq("items the sink handled vs its out", log.seen.load(), sink->out);
    p.expect_eq("items out of order at the sink", log.out_of_order.load(), 0);
    p.expect_eq("items at the sink twice", log.duplicates.load(), 0);
    p.expect_eq("items beyond the ledger", log.beyond_ledger.load(), 0);
    if (!aborted) {
        // Nothing dropped: every item produced, 0 .. in-1, reached the sink exactly once.
        std::uint64_t missing = 0;
        for (std::uint64_t x = 0; x < std::min<std::uint64_t>(src->in, SlowSinkLog::kLedger); ++x)
            missing += log.ledger[x] == 0 ? 1 : 0;
        p.expect_eq("items produced that never reached the sink", missing, 0);
    }
}

}  // namespace

TEST_CASE(
    "replicas: stop(deadline) under full backpressure with a stalled sink cancels and "
    "accounts for every item",
    "[flow][replicas][shutdown]") {
    const std::size_t replicas = GENERATE(std::size_t{2}, std::size_t{4});
    const bool ordered = GENERATE(true, false);
    const bool chain = GENERATE(true, false);
    // Where the sink stalls relative to the replicas' rings varies from run to run: a few rounds.
    const int round = GENERATE(range(0, 3));
    CAPTURE(replicas, ordered, chain, round);
    SlowSinkLog log;
    log.ordered = ordered;
    log.stall_at = 100;
    log.gate.open = false;
    const rill::Flow flow = slow_flow(log, replicas, ordered, chain);
    rill::Runtime runtime({.workers = 2u, .allow_oversubscription = true, .name = "repl"});
    rill::Run run = runtime.start(flow);
    rill::test::OpenOnExit opener{log.gate};

    // The sink stalls on item 100 and the source has run ahead as far as backpressure lets it.
    REQUIRE(rill::test::eventually([&] { return log.gate.someone_waiting.load(); }));
    std::uint64_t last = 0;
    int still = 0;
    REQUIRE(rill::test::eventually([&] {
        const std::uint64_t in = run.metrics().at("src").in;
        still = in == last ? still + 1 : 0;
        last = in;
        return still >= 50;  // the source has stopped producing: every ring is full
    }));

    const rill::StopReport report = run.stop(Clock::now() + 20ms);
    INFO(rill::test::describe(report));
    CHECK_FALSE(report.drained);
    CHECK_FALSE(report.in_flight.empty());
    CHECK_FALSE(run.done());  // the sink is still stalled in user code

    // The sink is stalled on item stall_at: it has handled stall_at items. After the cancel it
    // may finish the batch in its hands, and must then drop the rest rather than handle it.
    const std::uint64_t before_cancel = log.seen.load();
    log.gate.open = true;
    const auto status = run.wait_for(kHang);
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::cancelled);
    const std::uint64_t after_cancel = log.seen.load() - before_cancel;
    CHECK(before_cancel == log.stall_at);
    INFO("the sink handled " << after_cancel << " items after the cancel");
    CHECK(after_cancel <= kSlowBatch);
    const rill::FlowMetrics m = run.metrics();
    INFO(m);
    Problems p;
    check_shutdown_ledger(m, log, replicas, /*aborted=*/true, p);
    // The report listed what each stage held at the deadline; the cancel dropped no more.
    std::uint64_t reported = 0, dropped = 0;
    for (const auto& f : report.in_flight)
        reported += f.queued + f.held_upstream + f.in_stage;
    for (const auto& s : m.stages)
        dropped += s.dropped_on_cancel;
    p.expect(reported >= dropped, "the report lists " + std::to_string(reported) +
                                      " items in flight, the cancel dropped " +
                                      std::to_string(dropped));
    p.expect(log.seen.load() > log.stall_at, "the sink did not finish the item it stalled on");
    CHECK(p.str() == "");
}

TEST_CASE("replicas: stop() drains a slow sink behind replicas: stopped, nothing dropped",
          "[flow][replicas][shutdown]") {
    const bool ordered = GENERATE(true, false);
    const bool chain = GENERATE(true, false);
    CAPTURE(ordered, chain);
    SlowSinkLog log;
    log.ordered = ordered;
    log.spin = 2000;
    const rill::Flow flow = slow_flow(log, 2, ordered, chain);
    rill::Runtime runtime({.workers = 2u, .allow_oversubscription = true, .name = "repl"});
    rill::Run run = runtime.start(flow);
    REQUIRE(rill::test::eventually([&] { return log.seen.load() >= 2000; }, 120s));

    const rill::StopReport report = run.stop(Clock::now() + kHang);
    INFO(rill::test::describe(report));
    CHECK(report.drained);
    CHECK(report.in_flight.empty());
    CHECK(run.done());
    const auto status = run.wait_for(kHang);
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::stopped);
    const rill::FlowMetrics m = run.metrics();
    INFO(m);
    Problems p;
    check_shutdown_ledger(m, log, 2, /*aborted=*/false, p);
    CHECK(p.str() == "");
}

TEST_CASE("replicas: cancel() leaves every replica row balanced and the ledger exact",
          "[flow][replicas][shutdown][stress]") {
    // Endless source -> work (4 replicas) -> hidden work.merge -> sink (2 replicas), cancelled
    // while items flow, repeated on one runtime.
    const bool ordered = GENERATE(true, false);
    const bool chain = GENERATE(true, false);
    // Ordered replicas with least_loaded are refused (see the bad-options test).
    const rill::Distribution distribution = GENERATE_COPY(Catch::Generators::from_range(
        ordered ? std::vector{rill::Distribution::round_robin}
                : std::vector{rill::Distribution::round_robin, rill::Distribution::least_loaded}));
    const std::uint64_t rounds = rill::test::stress_items(40, 4);
    const bool round_robin = distribution == rill::Distribution::round_robin;
    CAPTURE(ordered, chain, round_robin, rounds);
    rill::Flow flow({.capacity = 64, .batch = 16, .chain = chain});
    rill::StageOptions work;
    work.replicas = 4;
    work.ordered = ordered;
    work.distribution = distribution;
    auto endless = flow.source("src", rill::test::EndlessSource<Item>{});
    endless
        .map(
            "work", [](Item x) { return x; }, work)
        .sink("sink", [](Item) {}, {.replicas = 2});
    rill::Runtime& runtime = runtime_with(2);
    for (std::uint64_t round = 0; round < rounds; ++round) {
        INFO("round " << round);
        rill::Run run = runtime.start(flow);
        const std::uint64_t enough = 1000 + 997 * round;
        REQUIRE(rill::test::eventually([&] { return run.metrics().sum("sink").out >= enough; }));
        run.cancel();
        const auto status = run.wait_for(kHang);
        const rill::FlowMetrics m = run.metrics();
        INFO(m);
        REQUIRE(status);
        REQUIRE(*status == rill::RunStatus::cancelled);
        Problems p;
        check_rows(m, p, /*aborted=*/true);
        const rill::StageMetrics* src = find(m, "src");
        REQUIRE(src != nullptr);
        const auto work_rows = replica_rows(m, "work", 4, p);
        const auto sink_rows = replica_rows(m, "sink", 2, p);
        const rill::StageMetrics w = add_up(work_rows);
        const rill::StageMetrics s = add_up(sink_rows);
        p.expect_eq("work in (= src emitted)", w.in, src->emitted);
        check_fan_in(m, "work", w, s, /*must_merge=*/true, p);
        std::uint64_t dropped = 0;
        for (const rill::StageMetrics& row : m.stages)
            dropped += row.dropped_on_cancel + row.filtered + row.errored;
        p.expect_eq("src in vs sink out + dropped", src->in, s.out + dropped);
        REQUIRE(p.str() == "");
    }
}
