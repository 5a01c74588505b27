// Key partitioning: 10^6 events over 10^4 keys through key_by and a replicated stage. Every key
// meets exactly one replica, replica rill::hash<K>{}(key) % n; each replica sees the events of
// its keys in input order (their per-key sequence numbers go 0, 1, 2, ...); the per-key sums that
// the replicas keep in rill::KeyedState equal a reference; and the stream after the keyed stage
// still has every key's events in order. Then the options key_by refuses.

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <rill/rill.hpp>
#include <rill/state/hash.hpp>
#include <rill/state/keyed_state.hpp>

#include "support/matchers.hpp"
#include "support/stress_config.hpp"
#include "support/watched_run.hpp"

using namespace std::chrono_literals;

namespace {

rill::Runtime& runtime() {
    static rill::Runtime rt({.workers = 2, .allow_oversubscription = true});
    return rt;
}

constexpr std::uint32_t kKeys = 10'000;
constexpr std::size_t kSlots = 8;  // more than any replica count used here

/// An event of the source: the seq-th event of `key`, the value-th of the stream.
struct Event {
    std::uint32_t key = 0;
    std::uint32_t seq = 0;
    std::uint64_t value = 0;
};
/// What a keyed map emits: the event and the replica that handled it.
struct Tagged {
    std::uint32_t key = 0;
    std::uint32_t seq = 0;
    std::uint32_t replica = 0;
    std::uint64_t value = 0;
};

/// splitmix64's finaliser: consecutive events get scattered keys.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
std::uint32_t key_of(std::uint64_t i) {
    return static_cast<std::uint32_t>(mix(i) % kKeys);
}

/// n events; event i has key key_of(i), value i and the next sequence number of its key.
struct Events {
    using value_type = Event;
    explicit Events(std::uint64_t count) : n(count) {}
    std::uint64_t n;
    std::uint64_t next = 0;
    std::vector<std::uint32_t> seq = std::vector<std::uint32_t>(kKeys);
    rill::SourceStatus poll(rill::Emitter<Event>& out, std::size_t max) {
        for (std::size_t i = 0; i < max && next < n; ++i, ++next) {
            const std::uint32_t k = key_of(next);
            out.emit(Event{k, seq[k]++, next});
        }
        return next == n ? rill::SourceStatus::done : rill::SourceStatus::more;
    }
};

/// What a replica reported in close(): it counts in its own members while it runs.
struct alignas(64) ReplicaReport {
    std::atomic<std::uint64_t> opened{0}, closed{0}, replicas{0}, calls{0}, out_of_order{0},
        foreign{0};
};

/// Written by the replicas, race-free: one atomic per key and field.
struct KeyTable {
    KeyTable() : owner(kKeys), count(kKeys), sum(kKeys) {}
    /// replica + 1 of the first replica that saw the key; 0 while none has.
    std::vector<std::atomic<std::uint32_t>> owner;
    std::vector<std::atomic<std::uint64_t>> count;
    std::vector<std::atomic<std::uint64_t>> sum;
    std::array<ReplicaReport, kSlots> replicas;
    std::atomic<std::uint64_t> bad_replica{0};
};

struct PerKey {
    std::uint32_t next_seq = 0;
    std::uint64_t count = 0;
    std::uint64_t sum = 0;
};

/// The state a keyed replica keeps: per key, in a KeyedState of its own copy.
struct KeyedCounter {
    explicit KeyedCounter(std::shared_ptr<KeyTable> t) : table(std::move(t)) {}

    std::shared_ptr<KeyTable> table;
    rill::KeyedState<std::uint32_t, PerKey> state{kKeys};
    ReplicaReport* report = nullptr;
    std::uint32_t replica = 0;
    std::uint64_t calls = 0;
    std::uint64_t out_of_order = 0;
    std::uint64_t foreign = 0;  ///< keys another replica had seen first

    void open(rill::StageContext& ctx) {
        auto j = static_cast<std::size_t>(ctx.replica());
        const auto n = static_cast<std::size_t>(ctx.replicas());
        if (j >= n || j >= kSlots - 1) {
            table->bad_replica.fetch_add(1);
            j = kSlots - 1;
        }
        replica = static_cast<std::uint32_t>(j);
        report = &table->replicas[j];
        report->opened.fetch_add(1);
        report->replicas.store(n);
    }
    void see(const Event& e) {
        ++calls;
        PerKey* k = state.find(e.key);
        if (k == nullptr) {
            std::uint32_t none = 0;
            if (!table->owner[e.key].compare_exchange_strong(none, replica + 1)) ++foreign;
            k = &state[e.key];
        }
        if (e.seq != k->next_seq) ++out_of_order;
        k->next_seq = e.seq + 1;
        ++k->count;
        k->sum += e.value;
    }
    [[nodiscard]] Tagged tag(const Event& e) const {
        return Tagged{e.key, e.seq, replica, e.value};
    }
    void close() {
        if (report == nullptr) {
            table->bad_replica.fetch_add(1);
            return;
        }
        state.for_each([this](const std::uint32_t& key, PerKey& v) {
            table->count[key].fetch_add(v.count);
            table->sum[key].fetch_add(v.sum);
        });
        report->calls.fetch_add(calls);
        report->out_of_order.fetch_add(out_of_order);
        report->foreign.fetch_add(foreign);
        report->closed.fetch_add(1);
    }
};

struct CountingMap : KeyedCounter {
    using KeyedCounter::KeyedCounter;
    Tagged operator()(Event e) {
        see(e);
        return tag(e);
    }
};
struct CountingFlatMap : KeyedCounter {
    using KeyedCounter::KeyedCounter;
    void operator()(Event e, rill::Emitter<Tagged>& out) {
        see(e);
        out.emit(tag(e));
    }
};
struct CountingBatch : KeyedCounter {
    using KeyedCounter::KeyedCounter;
    void operator()(std::span<Event> events, rill::Emitter<Tagged>& out) {
        for (const Event& e : events) {
            see(e);
            out.emit(tag(e));
        }
    }
};
struct CountingSink : KeyedCounter {
    using KeyedCounter::KeyedCounter;
    void operator()(Event e) { see(e); }
};

struct SinkReport {
    std::atomic<std::uint64_t> count{0}, sum{0}, out_of_order{0}, wrong_replica{0}, closed{0};
};

/// After a keyed stage that emits: per-key order is still kept, and each event was tagged by the
/// replica that owns its key.
struct TaggedSink {
    explicit TaggedSink(std::shared_ptr<KeyTable> t, std::shared_ptr<SinkReport> r)
        : table(std::move(t)), report(std::move(r)) {}
    std::shared_ptr<KeyTable> table;
    std::shared_ptr<SinkReport> report;
    std::vector<std::uint32_t> next_seq = std::vector<std::uint32_t>(kKeys);
    std::uint64_t count = 0, sum = 0, out_of_order = 0, wrong_replica = 0;

    void operator()(Tagged t) {
        ++count;
        sum += t.value;
        if (t.seq != next_seq[t.key]) ++out_of_order;
        next_seq[t.key] = t.seq + 1;
        // The replica claimed the key before it emitted the event, so its claim is visible here.
        if (table->owner[t.key].load(std::memory_order_relaxed) != t.replica + 1) ++wrong_replica;
    }
    void close() {
        report->count.fetch_add(count);
        report->sum.fetch_add(sum);
        report->out_of_order.fetch_add(out_of_order);
        report->wrong_replica.fetch_add(wrong_replica);
        report->closed.fetch_add(1);
    }
};

const rill::StageMetrics* find(const rill::FlowMetrics& m, std::string_view name) {
    for (const rill::StageMetrics& s : m.stages) {
        if (s.name == name) return &s;
    }
    return nullptr;
}

std::string row_name(const std::string& stage, std::size_t r, std::size_t j) {
    return r == 1 ? stage : stage + "[" + std::to_string(j) + "]";
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

}  // namespace

TEST_CASE("key_by: every key meets exactly one replica, in input order, and per-key sums match",
          "[flow][partition][stress]") {
    const std::size_t replicas = GENERATE(std::size_t{1}, std::size_t{2}, std::size_t{4});
    const std::string kind = GENERATE(as<std::string>{}, "map", "flat_map", "batch", "sink");
    const bool chain = GENERATE(true, false);
    // The keyed stream comes straight from the source, or from an ordered replicated stage
    // (through its hidden merge), which must hand it over in input order too.
    const bool replicated_upstream = GENERATE(false, true);
    const std::uint64_t n = rill::test::stress_items(1'000'000, 10);
    CAPTURE(replicas, kind, chain, replicated_upstream, n);
    INFO("not run when an earlier configuration stalled: it would only stall again");
    REQUIRE(rill::test::ProgressWatchdog::stalls_so_far() == 0);

    // The reference: per key, how many events and the sum of their values.
    std::vector<std::uint64_t> ref_count(kKeys), ref_sum(kKeys);
    std::uint64_t total = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        ++ref_count[key_of(i)];
        ref_sum[key_of(i)] += i;
        total += i;
    }

    auto table = std::make_shared<KeyTable>();
    auto sink_report = std::make_shared<SinkReport>();
    rill::Flow flow({.capacity = 256, .batch = 32, .chain = chain});
    rill::Stream<Event> events = flow.source("events", Events(n));
    if (replicated_upstream) {
        rill::StageOptions pre;
        pre.replicas = 3;
        pre.ordered = true;
        events = events.map(
            "pre", [](Event e) { return e; }, pre);
    }
    auto keyed = events.key_by([](const Event& e) { return e.key; });
    rill::StageOptions o;
    o.replicas = replicas;
    if (kind == "sink") {
        keyed.sink("count", CountingSink(table), o);
    } else if (kind == "map") {
        auto out = keyed.map("count", CountingMap(table), o);
        static_assert(std::is_same_v<decltype(out), rill::Stream<Tagged>>,
                      "a keyed stage's result is an ordinary Stream");
        out.sink("check", TaggedSink(table, sink_report));
    } else if (kind == "flat_map") {
        auto out = keyed.flat_map("count", CountingFlatMap(table), o);
        static_assert(std::is_same_v<decltype(out), rill::Stream<Tagged>>);
        out.sink("check", TaggedSink(table, sink_report));
    } else {
        auto out = keyed.per_batch("count", CountingBatch(table), o);
        static_assert(std::is_same_v<decltype(out), rill::Stream<Tagged>>);
        out.sink("check", TaggedSink(table, sink_report));
    }

    rill::Run run = runtime().start(flow);
    const auto status = rill::test::wait_watched(run, "key_by");
    const rill::FlowMetrics m = run.metrics();
    INFO(m);
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::completed);

    Problems p;
    for (const rill::StageMetrics& s : m.stages) {
        p.expect(s.balanced(), "'" + s.name + "' is not balanced");
        p.expect_eq("'" + s.name + "' dropped_on_cancel", s.dropped_on_cancel, 0);
        p.expect_eq("'" + s.name + "' errored", s.errored, 0);
        p.expect_eq("'" + s.name + "' filtered", s.filtered, 0);
        p.expect(s.queue_max <= s.queue_capacity, "'" + s.name + "' queue_max above capacity");
    }
    p.expect(m.balanced(), "FlowMetrics::balanced() is false");

    // Per replica: its row, and what its own stage object saw.
    std::vector<std::uint64_t> row_in(replicas);
    std::uint64_t emitted = 0;
    for (std::size_t j = 0; j < kSlots; ++j) {
        const ReplicaReport& r = table->replicas[j];
        const std::string who = "replica " + std::to_string(j);
        if (j >= replicas) {
            p.expect_eq(who + " (none expected) opened", r.opened.load(), 0);
            continue;
        }
        p.expect_eq(who + " opened", r.opened.load(), 1);
        p.expect_eq(who + " closed", r.closed.load(), 1);
        p.expect_eq(who + " was told replicas()", r.replicas.load(), replicas);
        p.expect_eq(who + ": events out of order for their key", r.out_of_order.load(), 0);
        p.expect_eq(who + ": keys another replica saw first", r.foreign.load(), 0);
        const rill::StageMetrics* row = find(m, row_name("count", replicas, j));
        if (row == nullptr) {
            p.add("no metrics row '" + row_name("count", replicas, j) + "'");
            continue;
        }
        row_in[j] = row->in;
        emitted += row->emitted;
        p.expect_eq(who + ": its stage object's calls vs its row's in", r.calls.load(), row->in);
        if (replicas > 1) p.expect(row->in > 0, who + " got no event over 10^4 keys");
    }
    p.expect_eq("stage objects with a bad replica() or no open()", table->bad_replica.load(), 0);
    try {
        p.expect_eq("sum('count').in", m.sum("count").in, n);
    } catch (const std::exception& e) {
        p.add(std::string("sum('count') threw: ") + e.what());
    }

    // Per key: one owner, the one the spec names, and the reference's count and sum. The events
    // dealt to each replica are exactly those of its keys.
    std::uint64_t unowned = 0, misplaced = 0, wrong_count = 0, wrong_sum = 0;
    std::vector<std::uint64_t> owned_events(replicas);
    std::string example;
    for (std::uint32_t k = 0; k < kKeys; ++k) {
        if (ref_count[k] == 0) continue;
        const std::uint32_t owner = table->owner[k].load();
        if (owner == 0 || owner > replicas) {
            ++unowned;
            continue;
        }
        const std::uint64_t expected = rill::hash<std::uint32_t>{}(k) % replicas;
        if (owner - 1 != expected) {
            ++misplaced;
            if (example.empty()) {
                example = "key " + std::to_string(k) + " met replica " + std::to_string(owner - 1) +
                          ", rill::hash says " + std::to_string(expected);
            }
        }
        owned_events[owner - 1] += ref_count[k];
        wrong_count += table->count[k].load() != ref_count[k] ? 1 : 0;
        wrong_sum += table->sum[k].load() != ref_sum[k] ? 1 : 0;
    }
    p.expect_eq("keys no replica saw", unowned, 0);
    p.expect_eq("keys on another replica than rill::hash<K>{}(key) % n", misplaced, 0);
    if (!example.empty()) p.add(example);
    p.expect_eq("keys whose count differs from the reference", wrong_count, 0);
    p.expect_eq("keys whose sum differs from the reference", wrong_sum, 0);
    for (std::size_t j = 0; j < replicas; ++j) {
        p.expect_eq("events of replica " + std::to_string(j) + "'s keys vs its row's in",
                    owned_events[j], row_in[j]);
    }

    if (kind != "sink") {
        // The stream after the keyed stage: every event once, per-key order kept.
        const rill::StageMetrics* check = find(m, "check");
        REQUIRE(check != nullptr);
        p.expect_eq("check in (= the replicas' emitted)", check->in, emitted);
        p.expect_eq("check in", check->in, n);
        p.expect_eq("sink closed", sink_report->closed.load(), 1);
        p.expect_eq("events at the sink", sink_report->count.load(), n);
        p.expect_eq("checksum at the sink", sink_report->sum.load(), total);
        p.expect_eq("events out of order for their key after the keyed stage",
                    sink_report->out_of_order.load(), 0);
        p.expect_eq("events tagged by a replica that does not own the key",
                    sink_report->wrong_replica.load(), 0);
    }
    CHECK(p.str() == "");
}

TEST_CASE("key_by: a string key partitions too", "[flow][partition]") {
    // Keys of another type than integers: std::string, hashed by rill::hash<std::string>.
    struct Word {
        std::string key;
        std::uint64_t value = 0;
    };
    constexpr std::uint64_t kWords = 20'000;
    constexpr std::uint32_t kDistinct = 97;
    struct Owner {
        std::shared_ptr<std::vector<std::atomic<std::uint32_t>>> owner;  // per word index
        std::shared_ptr<std::atomic<std::uint64_t>> foreign;
        std::shared_ptr<std::atomic<std::uint64_t>> count;
        std::uint32_t replica = 0;
        void open(rill::StageContext& ctx) { replica = static_cast<std::uint32_t>(ctx.replica()); }
        void operator()(Word w) {
            const auto i = static_cast<std::size_t>(w.value % kDistinct);
            std::uint32_t none = 0;
            auto& slot = (*owner)[i];
            if (!slot.compare_exchange_strong(none, replica + 1) && none != replica + 1)
                foreign->fetch_add(1);
            count->fetch_add(1);
        }
    };
    Owner o{std::make_shared<std::vector<std::atomic<std::uint32_t>>>(kDistinct),
            std::make_shared<std::atomic<std::uint64_t>>(0),
            std::make_shared<std::atomic<std::uint64_t>>(0)};
    rill::Flow flow;
    flow.source("words", rill::iota<std::uint64_t>(0, kWords))
        .map("word",
             [](std::uint64_t i) {
                 return Word{"word-" + std::to_string(i % kDistinct), i};
             })
        .key_by([](const Word& w) { return w.key; })
        .sink("count", o, {.replicas = 4});
    rill::Run run = runtime().start(flow);
    const auto status = rill::test::wait_watched(run, "key_by");
    INFO(run.metrics());
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::completed);
    CHECK(o.count->load() == kWords);
    CHECK(o.foreign->load() == 0);
    for (std::uint32_t i = 0; i < kDistinct; ++i) {
        const std::uint32_t owner = (*o.owner)[i].load();
        CAPTURE(i);
        REQUIRE(owner != 0);
        CHECK(owner - 1 == rill::hash<std::string>{}("word-" + std::to_string(i)) % 4);
    }
}

namespace {

/// A keyed stage of the given kind on `opts`.
void add_keyed(const std::string& kind, rill::StageOptions opts) {
    rill::Flow flow;
    auto keyed = flow.source("events", Events(10)).key_by([](const Event& e) { return e.key; });
    if (kind == "map") {
        keyed
            .map(
                "keyed_stage", [](Event e) { return e.value; }, opts)
            .sink("end", [](std::uint64_t) {});
    } else if (kind == "filter") {
        keyed
            .filter(
                "keyed_stage", [](const Event&) { return true; }, opts)
            .sink("end", [](Event) {});
    } else if (kind == "flat_map") {
        keyed
            .flat_map(
                "keyed_stage",
                [](Event e, rill::Emitter<std::uint64_t>& out) { out.emit(e.value + 0); }, opts)
            .sink("end", [](std::uint64_t) {});
    } else {
        keyed.sink(
            "keyed_stage", [](Event) {}, opts);
    }
}

}  // namespace

TEST_CASE("key_by: bad options", "[flow][partition][bad_input]") {
    const std::string kind = GENERATE(as<std::string>{}, "map", "filter", "flat_map", "sink");
    CAPTURE(kind);
    SECTION("ordered: per-key order is always kept, so it is refused") {
        const std::size_t replicas = GENERATE(std::size_t{2}, std::size_t{4});
        CAPTURE(replicas);
        CHECK_THROWS_MATCHES(add_keyed(kind, {.replicas = replicas, .ordered = true}),
                             std::invalid_argument, MessageContainsAll({"keyed_stage"}));
    }
    SECTION("replicas 0") {
        CHECK_THROWS_MATCHES(add_keyed(kind, {.replicas = 0}), std::invalid_argument,
                             MessageContainsAll({"keyed_stage", "replicas", "0"}));
    }
    SECTION("replicas above max_replicas") {
        const std::size_t too_many = rill::FlowOptions{}.max_replicas + 1;
        CHECK_THROWS_MATCHES(
            add_keyed(kind, {.replicas = too_many}), std::invalid_argument,
            MessageContainsAll({"keyed_stage", "replicas", std::to_string(too_many)}));
    }
    SECTION("the valid ones are accepted") {
        CHECK_NOTHROW(add_keyed(kind, {.replicas = 1}));
        CHECK_NOTHROW(add_keyed(kind, {.replicas = 4}));
        CHECK_NOTHROW(add_keyed(kind, {.replicas = rill::FlowOptions{}.max_replicas}));
    }
}
