// pooled: 1 KiB payloads taken from an ObjectPool, filled by the source, rewritten by a map and
// summed byte by byte by the sink, which drops the handles (back to the pool): the memory traffic
// of real messages with no allocation per item.

#include <rill/rill.hpp>

#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "peers.hpp"
#include "workloads.hpp"

namespace rill::perf_report {
namespace {

struct Frame {
    std::uint64_t seq = 0;
    std::array<std::uint8_t, 1016> bytes{};
};
static_assert(sizeof(Frame) == 1024);
using Pool = ObjectPool<Frame>;
using Handle = Pooled<Frame>;

void fill(Frame& f, std::uint64_t seq) noexcept {
    f.seq = seq;
    std::memset(f.bytes.data(), static_cast<int>(seq & 0xff), f.bytes.size());
}

/// The map's work: every byte + 1 (mod 256).
Handle touch(Handle f) noexcept {
    for (std::uint8_t& b : f->bytes)
        b = static_cast<std::uint8_t>(b + 1);
    return f;
}

std::uint64_t frame_sum(const Frame& f) noexcept {
    std::uint64_t s = f.seq;
    for (const std::uint8_t b : f.bytes)
        s += b;
    return s;
}

/// What the sink adds up for seq = 1..n: seq + 1016 * ((seq + 1) mod 256) each.
std::uint64_t expected_sum(std::uint64_t n) {
    std::uint64_t sum = 0;
    for (std::uint64_t s = 1; s <= n; ++s)
        sum += s + 1016 * ((s + 1) & 0xff);
    return sum;
}

/// Emits frames seq = 1..n from the pool. Sized by pool_capacity(), the pool cannot run dry; if
/// it ever did the source would wait a poll interval, not allocate.
class FrameSource {
  public:
    using value_type = Handle;
    FrameSource(std::shared_ptr<Pool> pool, std::uint64_t n) : pool_(std::move(pool)), n_(n) {}

    SourceStatus poll(Emitter<Handle>& out, std::size_t max) noexcept {
        for (std::size_t k = 0; k < max && next_ <= n_; ++k) {
            Handle f = pool_->try_acquire();
            if (!f) return k == 0 ? SourceStatus::idle : SourceStatus::more;
            fill(*f, next_++);
            out.emit(std::move(f));
        }
        return next_ > n_ ? SourceStatus::done : SourceStatus::more;
    }

  private:
    std::shared_ptr<Pool> pool_;
    std::uint64_t n_;
    std::uint64_t next_ = 1;
};

/// Frames a run can hold at once: two rings full, a batch in each stage's hands and in each
/// emitter's overflow, and what the pool's per-thread caches may keep.
std::size_t pool_capacity(std::size_t capacity, std::size_t batch) {
    const PoolOptions defaults;
    return 2 * capacity + 6 * batch + std::size_t{defaults.thread_caches} * defaults.cache_items +
           64;
}

perf::Factory factory(const Params&) {
    return [](const perf::Config& c) {
        const std::uint64_t n = c.items;
        const std::uint64_t expected = expected_sum(n);
        // A pool per run, built before the clock starts: each run's workers are new threads, and
        // a pool reused across runs would carry what earlier runs' threads left in its caches.
        auto pool =
            std::make_shared<Pool>(PoolOptions{.capacity = pool_capacity(c.capacity, c.batch)});
        auto sum = std::make_shared<std::uint64_t>(0);
        perf::Trial t;
        t.flow = Flow(c.flow_options());
        t.items = n;
        t.flow.source("source", FrameSource(pool, n))
            .map("touch", touch)
            .sink("sum", [sum](std::span<Handle> frames) noexcept {
                std::uint64_t s = 0;
                for (const Handle& f : frames)
                    s += frame_sum(*f);
                *sum += s;
            });
        t.check = [sum, expected, pool] { return *sum == expected && pool->stats().in_use == 0; };
        return t;
    };
}

std::vector<Peer> peers(const Params&, const std::vector<std::size_t>& capacities) {
    std::vector<Peer> out;
    // In flight: at most `tokens` in TBB; two channels and a frame in each thread's hands.
    const auto add = [&](std::string name, std::size_t cap, auto run_peer) {
        out.push_back({std::move(name), cap, [=](std::uint64_t n) {
                           const std::uint64_t want = expected_sum(n);
                           // Per run, as for rill: the channel chain's threads are new each time.
                           auto pool =
                               std::make_shared<Pool>(PoolOptions{.capacity = 2 * cap + 64});
                           return time_run(n, [&] {
                               std::uint64_t seq = 0;
                               std::uint64_t sum = 0;
                               run_peer(
                                   cap,
                                   [&]() -> std::optional<Handle> {
                                       if (seq == n) return std::nullopt;
                                       Handle f = pool->acquire();  // waits for a return
                                       fill(*f, ++seq);
                                       return f;
                                   },
                                   [&sum](Handle f) { sum += frame_sum(*f); });
                               return sum == want && pool->stats().in_use == 0;
                           });
                       }});
    };
    for (const std::size_t cap : capacities) {
        add("tbb parallel_pipeline tokens=" + std::to_string(cap), cap,
            [](std::size_t c, auto source, auto sink) {
                bench::tbb_pipeline(peer_arena(), c, source, sink, touch);
            });
    }
    for (const std::size_t cap : capacities) {
        add("channel chain capacity=" + std::to_string(cap), cap,
            [](std::size_t c, auto source, auto sink) {
                bench::channel_chain(c, source, sink, touch);
            });
    }
    return out;
}

}  // namespace

Workload pooled_workload() {
    Workload w;
    w.name = "pooled";
    w.summary =
        "1 KiB payloads from an ObjectPool: source fills -> map rewrites every byte -> sink sums "
        "the bytes and returns the payload (checksum over all bytes)";
    w.items = 20'000;
    w.quick_items = 5'000;
    w.min_run_seconds = 0.02;
    w.quick_min_run_seconds = 0.005;
    w.grid.capacities = {64, 256, 1024};
    w.grid.batches = {1, 16, 64};
    w.quick_grid.capacities = {64, 1024};
    w.quick_grid.batches = {1, 64};
    w.quick_grid.waits = {WaitPolicy::busy_spin(), WaitPolicy::spin_park(256)};
    w.quick_grid.repeat = 3;
    w.note = [](const Params&) {
        return std::string(
            "Each item is a pooled handle (one pointer) to a 1 KiB frame: the source writes the "
            "frame, the map reads and writes it, the sink reads it, so each frame's cache lines "
            "move between cores when the stages sit on different workers. Nothing is allocated "
            "per item; each run gets a pool of two rings' worth of frames, built before the clock "
            "starts, so it never runs dry.");
    };
    w.factory = factory;
    w.peers = peers;
    return w;
}

}  // namespace rill::perf_report
