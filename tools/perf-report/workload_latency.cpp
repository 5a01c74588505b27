// latency: the source sends items at a fixed rate, each stamped with steady_clock when it is sent;
// the sink records now - stamp for every item in a histogram built up front. p50/p99/p99.9 are
// what the wait policy and placement cost an item at a rate the flow can easily carry.

#include <rill/rill.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <span>
#include <string>

#include "report.hpp"
#include "rill/perf/latency_histogram.hpp"
#include "workloads.hpp"

namespace rill::perf_report {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
}

struct Stamped {
    std::uint64_t seq = 0;
    std::int64_t sent_ns = 0;
};

/// Sends items seq = 1..n, one every `period_ns`, starting at its first poll. Items that are due
/// go out together, each stamped with the time it is actually sent; when none is due the source
/// is idle until its poll interval (the period) has passed.
class PacedSource {
  public:
    using value_type = Stamped;
    PacedSource(std::uint64_t n, std::int64_t period_ns) : n_(n), period_ns_(period_ns) {}

    SourceStatus poll(Emitter<Stamped>& out, std::size_t max) noexcept {
        const std::int64_t now = now_ns();
        if (next_ == 1) due_ns_ = now;
        std::size_t k = 0;
        for (; k < max && next_ <= n_ && due_ns_ <= now; ++k) {
            out.emit(Stamped{next_++, now});
            due_ns_ += period_ns_;
        }
        if (next_ > n_) return SourceStatus::done;
        return k == 0 ? SourceStatus::idle : SourceStatus::more;
    }

  private:
    std::uint64_t n_;
    std::int64_t period_ns_;
    std::uint64_t next_ = 1;
    std::int64_t due_ns_ = 0;
};

struct Record {
    perf::LatencyHistogram histogram;
    std::uint64_t count = 0;
    std::uint64_t seq_sum = 0;
};

perf::Factory factory(const Params& params) {
    const auto period =
        std::chrono::nanoseconds(1'000'000'000 / static_cast<std::int64_t>(params.rate));
    return [period](const perf::Config& c) {
        const std::uint64_t n = c.items;
        auto rec = std::make_shared<Record>();
        perf::Trial t;
        t.flow = Flow(c.flow_options());
        t.items = n;
        StageOptions source_options;
        // Zero would mean "only when woken": a rate above 1 M/s polls every microsecond.
        source_options.poll_interval =
            std::max(std::chrono::microseconds(1),
                     std::chrono::duration_cast<std::chrono::microseconds>(period));
        t.flow.source("source", PacedSource(n, period.count()), source_options)
            .map("hop", [](Stamped s) noexcept { return s; })
            // One clock read per batch: the items of a batch arrive together.
            .sink("record", [rec](std::span<const Stamped> batch) noexcept {
                const std::int64_t now = now_ns();
                for (const Stamped& s : batch) {
                    rec->histogram.record(static_cast<std::uint64_t>(now - s.sent_ns));
                    rec->seq_sum += s.seq;
                }
                rec->count += batch.size();
            });
        t.check = [rec, n] { return rec->count == n && rec->seq_sum == n * (n + 1) / 2; };
        t.latency = [rec] { return std::optional<perf::Latency>(rec->histogram.percentiles()); };
        return t;
    };
}

}  // namespace

Workload latency_workload() {
    Workload w;
    w.name = "latency";
    w.summary =
        "source sends items at a fixed rate stamped with steady_clock -> identity map -> sink "
        "records the end-to-end latency of every item (p50/p99/p99.9)";
    w.goal = perf::Goal::latency_p99;
    w.items = 10'000;
    w.quick_items = 2'000;
    w.grid.capacities = {1024};
    w.grid.batches = {64};
    w.quick_grid.capacities = {1024};
    w.quick_grid.batches = {64};
    w.quick_grid.waits = {WaitPolicy::busy_spin(), WaitPolicy::spin_park(256)};
    w.quick_grid.repeat = 3;
    w.note = [](const Params& p) {
        return "The source sends " + std::to_string(p.rate) +
               " items/s and stamps each when it is sent; latency is the sink's clock minus the "
               "stamp, one clock read per batch, recorded in a histogram allocated before the "
               "run (buckets within 3%). At this rate the rings never fill, so capacity does not "
               "matter; what matters is whether the sink's worker is awake when an item arrives "
               "(busy-spin, spin-yield) or must be woken from a park (spin-park once its spin "
               "budget is spent), and whether the item crosses workers at all (one worker, "
               "chained: no hand-off). Best is the lowest p99; compare the cores column for what "
               "each policy costs while waiting. Throughput here is the source's rate, not a "
               "limit. No peers: TBB and the channel chain have no paced source.";
    };
    w.factory = factory;
    return w;
}

}  // namespace rill::perf_report
