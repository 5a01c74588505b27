// Stage shapes and sources, each through a whole flow on two workers: flat_map, batch, filter;
// sources from a std::optional callable, a std::vector (lvalue and rvalue) and a polling object;
// open/close hooks and their order; move-only items; Inlet<T> from several threads.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <rill/rill.hpp>

namespace {

// Two workers whatever the machine (they may then share a core).
const rill::RuntimeOptions kTwoWorkers{.workers = 2, .allow_oversubscription = true};

/// What a sink saw. The sink runs on one worker; Run::wait() orders its writes before the reads.
struct Tally {
    std::uint64_t count = 0;
    std::uint64_t sum = 0;
};

rill::RunStatus run_to_end(rill::Runtime& runtime, const rill::Flow& flow,
                           rill::FlowMetrics* metrics = nullptr) {
    rill::Run run = runtime.start(flow);
    const rill::RunStatus status = run.wait();
    if (metrics != nullptr) *metrics = run.metrics();
    return status;
}

}  // namespace

TEST_CASE("flow shapes: flat_map emits 0, 1, 2 or 100 items per input", "[flow][shapes]") {
    const bool chain = GENERATE(true, false);
    CAPTURE(chain);
    constexpr std::uint64_t kItems = 20'000;
    // 100 outputs for one input: more than a batch and than the ring, so they overflow.
    const auto copies = [](std::uint64_t x) -> std::uint64_t { return x % 4 == 3 ? 100 : x % 4; };
    std::uint64_t expected_count = 0, expected_sum = 0;
    for (std::uint64_t x = 0; x < kItems; ++x) {
        expected_count += copies(x);
        expected_sum += copies(x) * x;
    }

    rill::Runtime runtime(kTwoWorkers);
    auto tally = std::make_shared<Tally>();
    rill::Flow flow({.capacity = 16, .batch = 8, .chain = chain});
    flow.source("source", rill::iota<std::uint64_t>(0, kItems))
        .flat_map("copies",
                  [copies](std::uint64_t x, rill::Emitter<std::uint64_t>& out) {
                      for (std::uint64_t i = 0; i < copies(x); ++i)
                          out.emit(x);
                  })
        .sink("sink", [tally](std::uint64_t x) {
            ++tally->count;
            tally->sum += x;
        });
    rill::FlowMetrics metrics;
    CHECK(run_to_end(runtime, flow, &metrics) == rill::RunStatus::completed);
    INFO(metrics);
    CHECK(tally->count == expected_count);
    CHECK(tally->sum == expected_sum);
    const rill::StageMetrics& fm = metrics.at("copies");
    CHECK(fm.in == kItems);
    CHECK(fm.out == kItems);
    CHECK(fm.emitted == expected_count);
    CHECK(metrics.at("sink").in == expected_count);
    CHECK(metrics.balanced());
}

TEST_CASE("flow shapes: a batch stage takes whole input batches and emits what it likes",
          "[flow][shapes]") {
    const bool chain = GENERATE(true, false);
    CAPTURE(chain);
    constexpr std::uint64_t kItems = 100'000;
    constexpr std::size_t kBatch = 32;

    struct Batches {
        std::uint64_t batches = 0, items = 0, sum = 0;
        std::size_t largest = 0, smallest = SIZE_MAX;
    };
    rill::Runtime runtime(kTwoWorkers);
    auto seen = std::make_shared<Batches>();
    rill::Flow flow({.capacity = 256, .batch = kBatch, .chain = chain});
    // One output per input batch: its size and its sum.
    flow.source("source", rill::iota<std::uint64_t>(1, kItems + 1))
        .per_batch("per_batch",
                   [](std::span<std::uint64_t> xs,
                      rill::Emitter<std::pair<std::size_t, std::uint64_t>>& out) {
                       std::uint64_t sum = 0;
                       for (const std::uint64_t x : xs)
                           sum += x;
                       out.emit({xs.size(), sum});
                   })
        .sink("sink", [seen](std::pair<std::size_t, std::uint64_t> b) {
            ++seen->batches;
            seen->items += b.first;
            seen->sum += b.second;
            seen->largest = std::max(seen->largest, b.first);
            seen->smallest = std::min(seen->smallest, b.first);
        });
    rill::FlowMetrics metrics;
    CHECK(run_to_end(runtime, flow, &metrics) == rill::RunStatus::completed);
    INFO(metrics);
    CHECK(seen->items == kItems);
    CHECK(seen->sum == kItems * (kItems + 1) / 2);
    CHECK(seen->smallest >= 1);
    CHECK(seen->largest <= kBatch);
    const rill::StageMetrics& bm = metrics.at("per_batch");
    CHECK(bm.in == kItems);
    CHECK(bm.out == kItems);
    CHECK(bm.emitted == seen->batches);
    CHECK(metrics.balanced());
}

TEST_CASE("flow shapes: a stage's batch bounds its input spans, chained to its producer or not",
          "[flow][shapes]") {
    const bool chain = GENERATE(true, false);
    CAPTURE(chain);
    constexpr std::size_t kStageBatch = 5;
    rill::Runtime runtime({.workers = 1});  // one worker: chained when allowed
    auto sizes = std::make_shared<std::vector<std::size_t>>();
    rill::Flow flow({.batch = 64, .chain = chain});
    flow.source("numbers", rill::iota<std::uint64_t>(1, 21))
        .per_batch("fives",
                   [sizes](std::span<std::uint64_t> xs, rill::Emitter<std::uint64_t>& out) {
                       sizes->push_back(xs.size());
                       for (const std::uint64_t x : xs)
                           out.emit(x);
                   },
                   {.batch = kStageBatch})
        .sink("sink", [](std::uint64_t) {});
    rill::FlowMetrics metrics;
    CHECK(run_to_end(runtime, flow, &metrics) == rill::RunStatus::completed);
    INFO(metrics);
    std::size_t total = 0;
    for (const std::size_t n : *sizes) {
        CHECK(n >= 1);
        CHECK(n <= kStageBatch);
        total += n;
    }
    CHECK(total == 20);
}

TEST_CASE("flow shapes: filter keeps what its predicate accepts and counts the rest",
          "[flow][shapes]") {
    const bool chain = GENERATE(true, false);
    CAPTURE(chain);
    constexpr std::uint64_t kItems = 100'000;  // 0 .. kItems-1
    rill::Runtime runtime(kTwoWorkers);
    auto tally = std::make_shared<Tally>();
    rill::Flow flow({.chain = chain});
    flow.source("source", rill::iota<std::uint64_t>(0, kItems))
        .filter("multiples_of_7", [](const std::uint64_t& x) { return x % 7 == 0; })
        .sink("sink", [tally](std::uint64_t x) {
            ++tally->count;
            tally->sum += x;
        });
    rill::FlowMetrics metrics;
    CHECK(run_to_end(runtime, flow, &metrics) == rill::RunStatus::completed);
    INFO(metrics);
    const std::uint64_t kept = (kItems - 1) / 7 + 1;  // 0, 7, ..., the largest below kItems
    CHECK(tally->count == kept);
    CHECK(tally->sum == 7 * ((kept - 1) * kept / 2));
    const rill::StageMetrics& fm = metrics.at("multiples_of_7");
    CHECK(fm.in == kItems);
    CHECK(fm.out == kept);
    CHECK(fm.filtered == kItems - kept);
    CHECK(fm.emitted == kept);
    CHECK(metrics.balanced());
}

TEST_CASE("flow sources: a callable returning std::optional, copied into every run",
          "[flow][sources]") {
    constexpr std::uint64_t kItems = 50'000;
    rill::Runtime runtime(kTwoWorkers);
    auto tally = std::make_shared<Tally>();
    rill::Flow flow;
    flow.source("counter",
                [next = std::uint64_t{1}]() mutable -> std::optional<std::uint64_t> {
                    if (next > kItems) return std::nullopt;
                    return next++;
                })
        .sink("sink", [tally](std::uint64_t x) {
            ++tally->count;
            tally->sum += x;
        });
    // Each run starts from the flow's copy of the callable, so both see 1..kItems.
    for (int round = 0; round < 2; ++round) {
        CAPTURE(round);
        *tally = {};
        rill::FlowMetrics metrics;
        CHECK(run_to_end(runtime, flow, &metrics) == rill::RunStatus::completed);
        CHECK(tally->count == kItems);
        CHECK(tally->sum == kItems * (kItems + 1) / 2);
        CHECK(metrics.at("counter").emitted == kItems);
        CHECK(metrics.balanced());
    }
}

TEST_CASE("flow sources: an rvalue std::vector is owned by the flow and read by every run",
          "[flow][sources]") {
    constexpr std::uint64_t kItems = 10'000;
    std::vector<std::uint64_t> data(kItems);
    for (std::uint64_t i = 0; i < kItems; ++i)
        data[i] = i + 1;
    rill::Runtime runtime(kTwoWorkers);
    auto tally = std::make_shared<Tally>();
    rill::Flow flow;
    flow.source("vector", std::move(data)).sink("sink", [tally](std::uint64_t x) {
        ++tally->count;
        tally->sum += x;
    });
    for (int round = 0; round < 2; ++round) {
        CAPTURE(round);
        *tally = {};
        CHECK(run_to_end(runtime, flow) == rill::RunStatus::completed);
        CHECK(tally->count == kItems);
        CHECK(tally->sum == kItems * (kItems + 1) / 2);
    }
}

TEST_CASE("flow sources: an lvalue std::vector is referenced, not copied", "[flow][sources]") {
    // sources.hpp: "an lvalue is referenced (keep it alive while the flow runs)". So a change to
    // the vector after the flow is built shows in the next run.
    std::vector<std::string> words{"a", "bb", "ccc"};
    rill::Runtime runtime(kTwoWorkers);
    auto tally = std::make_shared<Tally>();
    rill::Flow flow;
    flow.source("words", words).sink("sink", [tally](std::string w) {
        ++tally->count;
        tally->sum += w.size();
    });
    CHECK(run_to_end(runtime, flow) == rill::RunStatus::completed);
    CHECK(tally->count == 3);
    CHECK(tally->sum == 6);

    words.push_back("dddd");
    *tally = {};
    CHECK(run_to_end(runtime, flow) == rill::RunStatus::completed);
    CHECK(tally->count == 4);
    CHECK(tally->sum == 10);
}

namespace {

/// A polling source that emits fewer items than it may, and says `idle` every other poll.
struct Trickle {
    using value_type = std::uint64_t;
    struct Seen {
        std::size_t polls = 0;
        std::size_t largest_max = 0;
        std::size_t smallest_max = SIZE_MAX;
    };
    std::uint64_t next;
    std::uint64_t last;  // inclusive
    std::shared_ptr<Seen> seen;
    bool rest = false;

    rill::SourceStatus poll(rill::Emitter<std::uint64_t>& out, std::size_t max) {
        ++seen->polls;
        seen->largest_max = std::max(seen->largest_max, max);
        seen->smallest_max = std::min(seen->smallest_max, max);
        rest = !rest;
        if (rest) return rill::SourceStatus::idle;
        for (std::size_t i = 0; i < std::min<std::size_t>(max, 7) && next <= last; ++i)
            out.emit(next++);
        return next > last ? rill::SourceStatus::done : rill::SourceStatus::more;
    }
};
static_assert(rill::PollingSource<Trickle>);

}  // namespace

TEST_CASE("flow sources: a user polling source object", "[flow][sources]") {
    constexpr std::uint64_t kItems = 5'000;
    constexpr std::size_t kBatch = 16;
    rill::Runtime runtime(kTwoWorkers);
    auto seen = std::make_shared<Trickle::Seen>();
    auto tally = std::make_shared<Tally>();
    rill::Flow flow({.batch = kBatch});
    flow.source("trickle", Trickle{.next = 1, .last = kItems, .seen = seen},
                {.poll_interval = std::chrono::microseconds{10}})
        .map("square", [](std::uint64_t x) { return x * x; })
        .sink("sink", [tally](std::uint64_t x) {
            ++tally->count;
            tally->sum += x;
        });
    rill::FlowMetrics metrics;
    CHECK(run_to_end(runtime, flow, &metrics) == rill::RunStatus::completed);
    INFO(metrics);
    CHECK(tally->count == kItems);
    CHECK(tally->sum == kItems * (kItems + 1) * (2 * kItems + 1) / 6);
    CHECK(seen->polls >= 2 * ((kItems + 6) / 7));  // idle every other poll
    CHECK(seen->smallest_max >= 1);
    CHECK(seen->largest_max <= kBatch);
    CHECK(metrics.at("trickle").emitted == kItems);
    CHECK(metrics.balanced());
}

namespace {

/// What the hooks of every stage did, in order, from every worker.
struct Journal {
    std::mutex mutex;
    std::vector<std::string> opened;
    std::vector<std::string> closed;
    std::vector<std::string> problems;  // items outside open..close, bad contexts
    std::vector<std::pair<std::string, std::uint64_t>> items_at_close;
    std::vector<std::pair<std::string, unsigned>> open_worker;

    void reset() {
        std::lock_guard lock(mutex);
        opened.clear();
        closed.clear();
        problems.clear();
        items_at_close.clear();
        open_worker.clear();
    }
    void problem(std::string what) {
        std::lock_guard lock(mutex);
        problems.push_back(std::move(what));
    }
};

/// The hooks every stage object below shares, and the check that items come between them.
struct Hooked {
    std::string name;
    std::shared_ptr<Journal> journal;
    bool is_open = false;
    bool is_closed = false;
    std::uint64_t items = 0;

    void open(rill::StageContext& context) {
        if (is_open || items != 0) journal->problem(name + ": open after open or after items");
        if (context.stage() != name)
            journal->problem(name + ": context names '" + std::string(context.stage()) + "'");
        is_open = true;
        std::lock_guard lock(journal->mutex);
        journal->opened.push_back(name);
        journal->open_worker.emplace_back(name, context.worker());
    }
    void close() {
        if (!is_open || is_closed) journal->problem(name + ": close without open, or twice");
        is_closed = true;
        std::lock_guard lock(journal->mutex);
        journal->closed.push_back(name);
        journal->items_at_close.emplace_back(name, items);
    }
    void item() {
        if (!is_open || is_closed) journal->problem(name + ": item outside open..close");
        ++items;
    }
};

struct HookedSource : Hooked {
    using value_type = std::uint64_t;
    std::uint64_t next = 1;
    std::uint64_t last = 0;  // inclusive
    rill::SourceStatus poll(rill::Emitter<std::uint64_t>& out, std::size_t max) {
        item();  // a poll counts as an item of the source
        for (std::size_t i = 0; i < max && next <= last; ++i)
            out.emit(next++);
        return next > last ? rill::SourceStatus::done : rill::SourceStatus::more;
    }
};
struct HookedMap : Hooked {
    std::uint64_t operator()(std::uint64_t x) {
        item();
        return x + 1;
    }
};
struct HookedFilter : Hooked {
    bool operator()(const std::uint64_t& x) {
        item();
        return x % 2 == 0;
    }
};
struct HookedFlatMap : Hooked {
    void operator()(std::uint64_t x, rill::Emitter<std::uint64_t>& out) {
        item();
        out.emit(x);
        out.emit(x);
    }
};
struct HookedSink : Hooked {
    std::shared_ptr<Tally> tally;
    void operator()(std::uint64_t x) {
        item();
        ++tally->count;
        tally->sum += x;
    }
};

}  // namespace

TEST_CASE(
    "flow hooks: open and close run once per stage around its items, close in reverse "
    "topological order",
    "[flow][hooks]") {
    const bool chain = GENERATE(false, true);  // unchained: the stages spread over both workers
    CAPTURE(chain);
    constexpr std::uint64_t kItems = 20'000;
    rill::Runtime runtime(kTwoWorkers);
    auto journal = std::make_shared<Journal>();
    auto tally = std::make_shared<Tally>();
    const auto hooked = [&](const char* name) { return Hooked{.name = name, .journal = journal}; };
    rill::Flow flow({.capacity = 64, .batch = 16, .chain = chain});
    flow.source("source", HookedSource{hooked("source"), 1, kItems})
        .map("plus1", HookedMap{hooked("plus1")})
        .filter("even", HookedFilter{hooked("even")})
        .flat_map("twice", HookedFlatMap{hooked("twice")})
        .sink("sink", HookedSink{hooked("sink"), tally});
    // The prototypes in the flow are copied into the run, so each run starts closed.
    for (int round = 0; round < 2; ++round) {
        CAPTURE(round);
        journal->reset();
        *tally = {};
        rill::FlowMetrics metrics;
        CHECK(run_to_end(runtime, flow, &metrics) == rill::RunStatus::completed);
        INFO(metrics);
        std::lock_guard lock(journal->mutex);  // taken for form: the run has ended
        CHECK(journal->problems.empty());
        for (const std::string& p : journal->problems)
            UNSCOPED_INFO(p);

        std::vector<std::string> opened = journal->opened;
        std::sort(opened.begin(), opened.end());
        CHECK(opened == std::vector<std::string>{"even", "plus1", "sink", "source", "twice"});
        CHECK(journal->closed ==
              std::vector<std::string>{"sink", "twice", "even", "plus1", "source"});
        // Every stage saw all its items before its close hook.
        const std::uint64_t evens = (kItems + 1) / 2;  // x + 1 is even for odd x
        for (const auto& [name, items] : journal->items_at_close) {
            CAPTURE(name);
            if (name == "source") CHECK(items >= 1);  // polls
            if (name == "plus1") CHECK(items == kItems);
            if (name == "even") CHECK(items == kItems);
            if (name == "twice") CHECK(items == evens);
            if (name == "sink") CHECK(items == 2 * evens);
        }
        // The open hook runs on the stage's worker.
        for (const auto& [name, worker] : journal->open_worker) {
            CAPTURE(name);
            CHECK(worker == metrics.at(name).worker);
        }
        CHECK(tally->count == 2 * evens);
        CHECK(metrics.balanced());
    }
}

TEST_CASE("flow items: move-only items (std::unique_ptr<int>) through every stage shape",
          "[flow][shapes]") {
    const bool chain = GENERATE(true, false);
    CAPTURE(chain);
    constexpr int kItems = 30'000;
    using Box = std::unique_ptr<int>;
    rill::Runtime runtime(kTwoWorkers);
    auto tally = std::make_shared<Tally>();
    rill::Flow flow({.capacity = 128, .batch = 32, .chain = chain});
    flow.source("boxes",
                [next = 1]() mutable -> std::optional<Box> {
                    if (next > kItems) return std::nullopt;
                    return std::make_unique<int>(next++);
                })
        .map("double",
             [](Box b) {
                 *b *= 2;
                 return b;
             })
        .filter("not_multiple_of_3", [](const Box& b) { return *b % 3 != 0; })
        .flat_map("pass", [](Box b, rill::Emitter<Box>& out) { out.emit(std::move(b)); })
        .per_batch("batch_pass",
                   [](std::span<Box> boxes, rill::Emitter<Box>& out) {
                       for (Box& b : boxes)
                           out.emit(std::move(b));
                   })
        .sink("sink", [tally](Box b) {
            if (!b) return;  // counted as missing below
            ++tally->count;
            tally->sum += static_cast<std::uint64_t>(*b);
        });
    rill::FlowMetrics metrics;
    CHECK(run_to_end(runtime, flow, &metrics) == rill::RunStatus::completed);
    INFO(metrics);
    // 2x for x in 1..kItems, without the multiples of 3 (those of x).
    std::uint64_t expected_count = 0, expected_sum = 0;
    for (std::uint64_t x = 1; x <= kItems; ++x) {
        if (x % 3 == 0) continue;
        ++expected_count;
        expected_sum += 2 * x;
    }
    CHECK(tally->count == expected_count);
    CHECK(tally->sum == expected_sum);
    CHECK(metrics.at("sink").in == expected_count);
    CHECK(metrics.balanced());
}

TEST_CASE("flow inlet: four threads push and try_push into one inlet, then close",
          "[flow][inlet]") {
    constexpr int kProducers = 4;
    constexpr std::uint64_t kPerProducer = 100'000;
    constexpr std::uint64_t kTotal = kProducers * kPerProducer;
    rill::Runtime runtime(kTwoWorkers);
    auto tally = std::make_shared<Tally>();
    rill::Flow flow;
    // A small inlet, so that pushes wait and try_push fails now and then.
    auto [inlet, stream] = flow.inlet<std::uint64_t>("inlet", {.capacity = 64});
    stream.sink("sink", [tally](std::uint64_t x) {
        ++tally->count;
        tally->sum += x;
    });
    rill::Run run = runtime.start(flow);

    struct ProducerResult {
        std::uint64_t push_failures = 0;
        std::uint64_t try_push_retries = 0;
    };
    std::vector<ProducerResult> results(kProducers);
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
        producers.emplace_back([&inlet = inlet, &result = results[static_cast<std::size_t>(p)], p] {
            // Producer p pushes p*kPerProducer + 1 .. (p+1)*kPerProducer: every value once.
            const std::uint64_t base = static_cast<std::uint64_t>(p) * kPerProducer;
            for (std::uint64_t i = 1; i <= kPerProducer; ++i) {
                const std::uint64_t value = base + i;
                if (i % 2 == 0) {
                    if (!inlet.push(value)) ++result.push_failures;
                } else {
                    while (!inlet.try_push(value)) {
                        ++result.try_push_retries;
                        std::this_thread::yield();
                    }
                }
            }
        });
    }
    for (std::thread& t : producers)
        t.join();
    inlet.close();
    const rill::RunStatus status = run.wait();
    const rill::FlowMetrics metrics = run.metrics();
    INFO(metrics);

    CHECK(status == rill::RunStatus::completed);
    for (const ProducerResult& r : results)
        CHECK(r.push_failures == 0);
    CHECK(tally->count == kTotal);
    CHECK(tally->sum == kTotal * (kTotal + 1) / 2);
    CHECK(metrics.at("inlet").emitted == kTotal);
    CHECK(metrics.at("sink").in == kTotal);
    CHECK(metrics.balanced());
    CHECK(inlet.closed());
    CHECK(inlet.size_approx() == 0);
}

TEST_CASE("flow inlet: try_push fails when full, pushes fail once closed, accepted items flow",
          "[flow][inlet]") {
    rill::Runtime runtime(kTwoWorkers);
    auto tally = std::make_shared<Tally>();
    rill::Flow flow;
    auto [inlet, stream] = flow.inlet<std::uint64_t>("inlet", {.capacity = 4});
    stream.sink("sink", [tally](std::uint64_t x) {
        ++tally->count;
        tally->sum += x;
    });
    CHECK(inlet.capacity() == 4);
    CHECK(inlet.name() == "inlet");

    // Nothing reads the inlet before the flow starts: it fills up and stays full.
    for (std::uint64_t i = 1; i <= 4; ++i)
        CHECK(inlet.try_push(i));
    CHECK(inlet.size_approx() == 4);
    CHECK_FALSE(inlet.try_push(std::uint64_t{5}));
    const std::uint64_t five = 5;
    CHECK_FALSE(inlet.try_push(five));
    CHECK_FALSE(inlet.push_until(std::uint64_t{5},
                                 std::chrono::steady_clock::now() + std::chrono::milliseconds(5)));
    CHECK(inlet.size_approx() == 4);

    rill::Run run = runtime.start(flow);
    inlet.close();
    CHECK(inlet.closed());
    CHECK_FALSE(inlet.push(std::uint64_t{6}));
    CHECK_FALSE(inlet.try_push(std::uint64_t{7}));
    CHECK(run.wait() == rill::RunStatus::completed);
    // What the inlet accepted before close() went through; nothing after.
    CHECK(tally->count == 4);
    CHECK(tally->sum == 1 + 2 + 3 + 4);
    CHECK_FALSE(inlet.push(std::uint64_t{8}));
    CHECK(run.metrics().balanced());
}
