// Steps that wait inside their step (help_until, runtime/detail/help.hpp) never deadlock and
// never keep a worker awake for nothing. Each case is a schedule that deadlocked or spun an
// earlier version: a worker nesting another flow's source, or another branch, over its own
// expansion (cycles between two workers' stacks); ordered replicas whose fan-in needs a chunk
// held behind a wait; paced sources whose timer stayed in the past while they waited. A
// deadlocked worker never returns, so a case that does not end prints the run's metrics and
// ends the process at once instead of hanging in ~Runtime until the ctest timeout.

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "rill/rill.hpp"

using namespace std::chrono_literals;

namespace {

/// Waits for the run; on a timeout prints the metrics and ends the process (a deadlocked worker
/// would hang ~Runtime).
rill::RunStatus finish_or_die(rill::Run& run, const char* what, std::chrono::seconds timeout) {
    const auto status = run.wait_for(timeout);
    if (!status) {
        std::ostringstream m;
        m << run.metrics();
        std::fprintf(stderr, "DEADLOCK (%s): no end after %llds\n%s\n", what,
                     static_cast<long long>(timeout.count()), m.str().c_str());
        std::fflush(stderr);
        std::_Exit(3);
    }
    return *status;
}

/// Runs the flow to completion and checks that worker 0, which mostly waits for a slow sink on
/// worker 1, parks meanwhile: the process uses under half a CPU, and worker 0 parks a bounded
/// number of times (a timer left in the past would wake it over and over).
void check_worker_0_parks(rill::Runtime& runtime, rill::Flow& flow, const char* what) {
    timespec t0{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    const auto w0 = std::chrono::steady_clock::now();
    rill::Run run = runtime.start(flow);
    CHECK(finish_or_die(run, what, 120s) == rill::RunStatus::completed);
    timespec t1{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    const double cpu = static_cast<double>(t1.tv_sec - t0.tv_sec) +
                       static_cast<double>(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    const rill::WorkerStats s = runtime.worker_stats(0);
    INFO("wall " << wall << " s, process cpu " << cpu << " s, worker 0 parks " << s.parks);
    CHECK(cpu < 0.5 * wall);
    CHECK(s.parks < 20'000);
}

/// Emits one seed (0) at once; then nothing until `gate` opens; then `burst` ones in a single
/// poll; then done.
struct GatedSource {
    using value_type = std::uint64_t;
    std::shared_ptr<std::atomic<bool>> gate;
    std::uint64_t burst = 0;
    int state = 0;
    rill::SourceStatus poll(rill::Emitter<std::uint64_t>& out, std::size_t) {
        if (state == 0) {
            out.emit(0);
            state = 1;
            return rill::SourceStatus::more;
        }
        if (!gate->load()) return rill::SourceStatus::idle;
        for (std::uint64_t i = 0; i < burst; ++i)
            out.emit(1);
        return rill::SourceStatus::done;
    }
};

}  // namespace

TEST_CASE("waits: ordered flat_map replicas sharing one worker expand past ring and batch",
          "[flow][waits]") {
    // One worker runs the source (with the chunk router), both replicas and the ordered fan-in.
    // Replica 0 waits mid-chunk k for room in its ring to the fan-in; its help steps replica 1
    // (not upstream of 0), which takes chunk k+1 and waits for the fan-in too. The fan-in is on
    // chunk k: it never takes from replica 1 before frame k, which replica 0 pushes only when its
    // step ends, and replica 0's frame is under replica 1's.
    rill::Runtime runtime({.workers = 1});
    rill::Flow flow({.capacity = 16, .batch = 64});  // the source deals 8 chunks per step
    auto count = std::make_shared<std::atomic<std::uint64_t>>(0);
    constexpr std::uint64_t kInputs = 64;
    constexpr std::uint64_t kEach = 1000;
    flow.source("seed", rill::iota<std::uint64_t>(0, kInputs))
        .flat_map("expand",
                  [](std::uint64_t x, rill::Emitter<std::uint64_t>& out) {
                      for (std::uint64_t i = 0; i < kEach; ++i)
                          out.emit(x * kEach + i);
                  },
                  {.batch = 8, .replicas = 2, .ordered = true})
        .sink("sink", [count](std::uint64_t) { count->fetch_add(1); });
    rill::Run run = runtime.start(flow);
    CHECK(finish_or_die(run, "ordered replicas on one worker", 120s) == rill::RunStatus::completed);
    CHECK(count->load() == kInputs * kEach);
}

TEST_CASE(
    "waits: two flows whose workers each step the other flow's source inside their own expansion",
    "[flow][waits]") {
    // Flow A: source on w0 -> flat_map on w1 -> sink on w1.
    // Flow B: source on w1 -> flat_map on w0 -> sink on w0.
    // Both flat_maps expand their seed and wait (at the bottom of their worker's stack) while
    // their sink drains. Then both sources get their burst, each stepped inside the other flow's
    // flat_map's help_until: source A waits for flat_map A (mid-step on w1, under source B),
    // source B for flat_map B (mid-step on w0, under source A).
    rill::Runtime runtime({.workers = 2, .allow_oversubscription = true});
    auto gate = std::make_shared<std::atomic<bool>>(false);
    constexpr std::uint64_t kEach = 3'000'000;
    constexpr std::uint64_t kBurst = 200;
    auto counts = std::make_shared<std::array<std::atomic<std::uint64_t>, 2>>();
    std::vector<std::unique_ptr<rill::Flow>> flows;
    std::vector<rill::Run> runs;
    for (unsigned f = 0; f < 2; ++f) {
        auto flow = std::make_unique<rill::Flow>(
            rill::FlowOptions{.capacity = 16, .batch = 32, .chain = false});
        flow->source("src", GatedSource{.gate = gate, .burst = kBurst},
                     {.worker = f, .poll_interval = 0us})
            .flat_map("expand",
                      [](std::uint64_t x, rill::Emitter<std::uint64_t>& out) {
                          const std::uint64_t n = x == 0 ? kEach : 1;
                          for (std::uint64_t i = 0; i < n; ++i)
                              out.emit(i);
                      },
                      {.worker = 1 - f})
            .sink("sink", [counts, f](std::uint64_t) { (*counts)[f].fetch_add(1); },
                  {.worker = 1 - f});
        runs.push_back(runtime.start(*flow));
        flows.push_back(std::move(flow));
    }
    // Both expansions under way (each flat_map waits for its sink over and over).
    while ((*counts)[0].load() < 1000 || (*counts)[1].load() < 1000)
        std::this_thread::sleep_for(100us);
    gate->store(true);
    // No wake needed: each flat_map's help_until steps the other flow's source every round.
    for (unsigned f = 0; f < 2; ++f) {
        CHECK(finish_or_die(runs[f], "two flows, crossed sources", 120s) ==
              rill::RunStatus::completed);
        CHECK((*counts)[f].load() == kEach + kBurst);
    }
}

TEST_CASE("waits: a worker whose expansion waits behind a paced source of its own parks",
          "[flow][waits]") {
    // The source returns idle after its seed, so it paces (poll_interval 100us). The flat_map
    // (its own task on the same worker) waits for a slow sink on the other worker; the source is
    // upstream of it, so help_pass never steps it, and its next_timer() stays in the past.
    rill::Runtime runtime(
        {.workers = 2, .allow_oversubscription = true, .wait = rill::WaitPolicy::park()});
    rill::Flow flow({.capacity = 16, .batch = 16, .chain = false});
    struct SeedThenIdle {
        using value_type = std::uint64_t;
        int polls = 0;
        rill::SourceStatus poll(rill::Emitter<std::uint64_t>& out, std::size_t) {
            if (polls++ == 0) {
                out.emit(0);
                return rill::SourceStatus::idle;
            }
            return rill::SourceStatus::done;
        }
    };
    constexpr std::uint64_t kEach = 2000;
    flow.source("seed", SeedThenIdle{}, {.worker = 0})
        .flat_map("expand",
                  [](std::uint64_t, rill::Emitter<std::uint64_t>& out) {
                      for (std::uint64_t i = 0; i < kEach; ++i)
                          out.emit(i);
                  },
                  {.worker = 0})
        .sink("slow", [](std::uint64_t) { std::this_thread::sleep_for(500us); }, {.worker = 1});
    // The sink sleeps for ~1 s in all; worker 0 has nothing to do but wait for it.
    check_worker_0_parks(runtime, flow, "paced source");
}

TEST_CASE(
    "waits: ordered replicas on two workers finish when the router holds a chunk it cannot hand "
    "over",
    "[flow][waits]") {
    // Source (with the chunk router) and replica 1 on worker 1; replica 0 and the fan-in (whose
    // head is the sink) on worker 0. Chunks of 8, dealt two per source step. Replica 0's chunks
    // expand 1000x and are slow; replica 1's chunks 1 and 3 are empty, chunk 5 expands.
    // Source step 3 deals chunk 4 into replica 0's branch overflow (its ring holds chunks 0 and
    // 2) and chunk 5 into replica 1's ring, and ends. Replica 1 takes chunk 5 and waits for the
    // fan-in, which is on chunk 0; the source, upstream of replica 1, is no longer stepped on
    // worker 1, and it is not active, so nobody publishes its overflow. The fan-in reaches chunk
    // 4 and waits for it forever.
    rill::Runtime runtime({.workers = 2, .allow_oversubscription = true});
    rill::Flow flow({.capacity = 16, .batch = 16});
    auto count = std::make_shared<std::atomic<std::uint64_t>>(0);
    constexpr std::uint64_t kEach = 1000;
    flow.source("seed", rill::iota<std::uint64_t>(0, 48), {.worker = 1})
        .flat_map("expand",
                  [](std::uint64_t x, rill::Emitter<std::uint64_t>& out) {
                      const std::uint64_t chunk = x / 8;
                      const std::uint64_t n = (chunk % 2 == 0 || chunk == 5) ? kEach : 0;
                      for (std::uint64_t i = 0; i < n; ++i)
                          out.emit(x * kEach + i);
                  },
                  {.batch = 8, .worker = 0, .replicas = 2, .ordered = true})
        .sink("sink", [count](std::uint64_t) { count->fetch_add(1); }, {.worker = 0});
    rill::Run run = runtime.start(flow);
    CHECK(finish_or_die(run, "ordered replicas, blocked router", 120s) ==
          rill::RunStatus::completed);
    CHECK(count->load() == 32 * kEach);
}

TEST_CASE("waits: a paced source whose overflow waits for a slow consumer lets its worker park",
          "[flow][waits]") {
    // Each poll emits 50 items (16 fit the ring, 34 wait in the overflow) and reports idle, so
    // the source paces. While its overflow waits, FlowTask::step returns idle before pump(), so
    // pacing_ is never cleared and next_timer() stays in the past: the worker's wait times out
    // at once, over and over.
    rill::Runtime runtime(
        {.workers = 2, .allow_oversubscription = true, .wait = rill::WaitPolicy::park()});
    rill::Flow flow({.capacity = 16, .batch = 64});
    struct Bursts {
        using value_type = std::uint64_t;
        int polls = 0;
        rill::SourceStatus poll(rill::Emitter<std::uint64_t>& out, std::size_t) {
            if (polls++ == 20) return rill::SourceStatus::done;
            for (int i = 0; i < 50; ++i)
                out.emit(1);
            return rill::SourceStatus::idle;
        }
    };
    flow.source("bursts", Bursts{}, {.worker = 0})
        .sink("slow", [](std::uint64_t) { std::this_thread::sleep_for(500us); }, {.worker = 1});
    check_worker_0_parks(runtime, flow, "paced source with overflow");
}

TEST_CASE("waits: one flow whose two expanding branches cross workers finishes", "[flow][waits]") {
    // src0 (w0) -> expand0 (w1), src1 (w1) -> expand1 (w0); both merged into a sink on w0.
    rill::Runtime runtime({.workers = 2, .allow_oversubscription = true});
    auto gate = std::make_shared<std::atomic<bool>>(false);
    constexpr std::uint64_t kEach = 3'000'000;
    constexpr std::uint64_t kBurst = 200;
    auto count = std::make_shared<std::atomic<std::uint64_t>>(0);
    rill::Flow flow({.capacity = 16, .batch = 32, .chain = false});
    const auto expand = [](std::uint64_t x, rill::Emitter<std::uint64_t>& out) {
        const std::uint64_t n = x == 0 ? kEach : 1;
        for (std::uint64_t i = 0; i < n; ++i)
            out.emit(i);
    };
    auto a = flow.source("src0", GatedSource{.gate = gate, .burst = kBurst},
                         {.worker = 0, .poll_interval = 0us})
                 .flat_map("expand0", expand, {.worker = 1});
    auto b = flow.source("src1", GatedSource{.gate = gate, .burst = kBurst},
                         {.worker = 1, .poll_interval = 0us})
                 .flat_map("expand1", expand, {.worker = 0});
    rill::merge("both", std::vector<rill::Stream<std::uint64_t>>{a, b}, {.worker = 0})
        .sink("sink", [count](std::uint64_t) { count->fetch_add(1); }, {.worker = 0});
    rill::Run run = runtime.start(flow);
    while (count->load() < 2000)
        std::this_thread::sleep_for(100us);
    gate->store(true);
    CHECK(finish_or_die(run, "one flow, crossed branches", 120s) == rill::RunStatus::completed);
    CHECK(count->load() == 2 * (kEach + kBurst));
}

TEST_CASE("waits: two flows' outlets on one worker, read one to its end and then the other",
          "[flow][waits][outlet]") {
    // One worker runs both flows. When outlet a's ring is full its stage waits for the reader
    // and the worker steps flow b meanwhile, whose outlet fills too. Had b's outlet waited for
    // the reader above a's wait, a could not go on (its step is under b's) while the reader
    // waits for the rest of a: b's outlet holds what does not fit instead.
    rill::Runtime runtime({.workers = 1});
    constexpr std::uint64_t kItems = 100'000;
    std::array<rill::Flow, 2> flows{rill::Flow({.capacity = 64, .batch = 64}),
                                    rill::Flow({.capacity = 64, .batch = 64})};
    std::vector<rill::Outlet<std::uint64_t>> outlets;
    for (rill::Flow& flow : flows) {
        outlets.push_back(flow.source("src", rill::iota<std::uint64_t>(0, kItems))
                              .outlet("out", {.capacity = 1024}));
    }
    std::vector<rill::Run> runs;
    for (rill::Flow& flow : flows)
        runs.push_back(runtime.start(flow));
    std::this_thread::sleep_for(10ms);  // both outlets full
    for (std::size_t f = 0; f < 2; ++f) {
        std::uint64_t expected = 0;
        std::uint64_t out_of_order = 0;
        while (const std::optional<std::uint64_t> x = outlets[f].pop_for(120s)) {
            out_of_order += *x != expected ? 1 : 0;
            ++expected;
        }
        CHECK(out_of_order == 0);
        INFO("outlet " << f);
        CHECK(expected == kItems);
        if (expected != kItems) {
            std::ostringstream m;
            m << runs[f].metrics();
            std::fprintf(stderr, "DEADLOCK (two outlets): outlet %zu stopped at %llu\n%s\n", f,
                         static_cast<unsigned long long>(expected), m.str().c_str());
            std::fflush(stderr);
            std::_Exit(3);
        }
    }
    for (std::size_t f = 0; f < 2; ++f) {
        CHECK(finish_or_die(runs[f], "two outlets", 120s) == rill::RunStatus::completed);
        const rill::FlowMetrics m = runs[f].metrics();
        CHECK(m.balanced());
        CHECK(m.at("out").out == kItems);
    }
}
