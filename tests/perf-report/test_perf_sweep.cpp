// rill::perf: the grid's checks, the summary (best and knee), the latency histogram, and sweep()
// on a flow built the way the header documents for an application.

#include <catch2/catch.hpp>

#include <rill/rill.hpp>

#include <cmath>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

#include "rill/perf/latency_histogram.hpp"
#include "rill/perf/sweep.hpp"

using rill::WaitPolicy;
using rill::perf::Config;
using rill::perf::Grid;
using rill::perf::LatencyHistogram;
using rill::perf::Point;

namespace {

std::string validate_message(const Grid& g) {
    try {
        g.validate();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

Point point(std::size_t capacity, std::size_t batch, double mips, WaitPolicy wait = {},
            bool chained = true, unsigned workers = 2) {
    Point p;
    p.config = Config{capacity, batch, wait, chained, workers};
    p.median_items_per_second = mips * 1e6;
    return p;
}

}  // namespace

TEST_CASE("Grid::validate names the field and the value") {
    CHECK(validate_message(Grid{}).empty());
    Grid g;
    g.capacities = {};
    CHECK(validate_message(g) == "rill::perf::Grid.capacities is empty; give at least one value");
    g = Grid{};
    g.capacities = {64, 100};
    CHECK(validate_message(g) ==
          "rill::perf::Grid.capacities: 100 is not a power of two from 2 to 1073741824");
    g = Grid{};
    g.batches = {0};
    CHECK(validate_message(g) == "rill::perf::Grid.batches: 0 is not from 1 to 65536");
    g = Grid{};
    g.waits = {WaitPolicy::spin_park(WaitPolicy::kMaxSpin + 1)};
    CHECK_THAT(validate_message(g), Catch::StartsWith("rill::perf::Grid.waits: WaitPolicy.spin"));
    g = Grid{};
    g.workers = {0};
    CHECK_THAT(validate_message(g), Catch::StartsWith("rill::perf::Grid.workers: 0 is not"));
    g = Grid{};
    g.repeat = 0;
    CHECK(validate_message(g) == "rill::perf::Grid.repeat is 0; it must be >= 1");
    g = Grid{};
    g.max_items = g.items - 1;
    CHECK_THAT(validate_message(g), Catch::StartsWith("rill::perf::Grid.max_items"));
}

TEST_CASE("Grid::configs: every combination, batch varying fastest, items from the grid") {
    Grid g;
    g.capacities = {64, 1024};
    g.batches = {1, 16, 64};
    g.waits = {WaitPolicy::busy_spin(), WaitPolicy::spin_park(256)};
    g.chained = {true, false};
    g.workers = {1, 2};
    g.items = 777;
    const auto configs = g.configs();
    REQUIRE(configs.size() == g.points());
    REQUIRE(configs.size() == 48);
    CHECK(configs[0].batch == 1);
    CHECK(configs[1].batch == 16);
    CHECK(configs[3].capacity == 1024);
    CHECK(configs[6].wait == WaitPolicy::spin_park(256));
    CHECK(configs[12].chained == false);
    CHECK(configs[24].workers == 2);
    for (const Config& c : configs)
        CHECK(c.items == 777);
}

TEST_CASE("summarize: the best throughput, and the knee within 5% in the best's group") {
    std::vector<Point> points{
        point(64, 1, 10),
        point(64, 64, 96),
        point(1024, 1, 12),
        point(1024, 64, 100),
        point(1024, 16, 95.5),
        // Faster than the knee but another wait policy: not in the best's group.
        point(64, 16, 99, WaitPolicy::busy_spin()),
    };
    const auto s = rill::perf::summarize(points);
    CHECK(s.best == 3);
    CHECK(s.knee == 1);  // capacity 64 first, and 96 >= 95
    CHECK(rill::perf::summarize(points, 0.01).knee == 3);
    CHECK_THROWS_AS(rill::perf::summarize({}), std::invalid_argument);
}

TEST_CASE("summarize: by p99 latency, lowest wins") {
    std::vector<Point> points{point(64, 1, 1), point(64, 64, 1), point(1024, 64, 1)};
    points[0].latency = rill::perf::Latency{100, 900, 2000};
    points[1].latency = rill::perf::Latency{100, 600, 2000};
    points[2].latency = rill::perf::Latency{100, 610, 2000};
    const auto s = rill::perf::summarize(points, 0.05, rill::perf::Goal::latency_p99);
    CHECK(s.best == 1);
    CHECK(s.knee == 1);
    std::vector<Point> none{point(64, 1, 1)};
    CHECK_THROWS_AS(rill::perf::summarize(none, 0.05, rill::perf::Goal::latency_p99),
                    std::invalid_argument);
}

TEST_CASE("LatencyHistogram: exact below 64 ns, within 3% above, buckets tile the range") {
    for (std::size_t b = 0; b + 1 < LatencyHistogram::kBuckets; ++b) {
        REQUIRE(LatencyHistogram::bucket_low(b) <= LatencyHistogram::bucket_high(b));
        REQUIRE(LatencyHistogram::bucket_high(b) + 1 == LatencyHistogram::bucket_low(b + 1));
        REQUIRE(LatencyHistogram::bucket(LatencyHistogram::bucket_low(b)) == b);
        REQUIRE(LatencyHistogram::bucket(LatencyHistogram::bucket_high(b)) == b);
    }
    LatencyHistogram h;
    CHECK(h.quantile(0.5) == 0);
    for (std::uint64_t v = 1; v <= 100'000; ++v)
        h.record(v);
    CHECK(h.count() == 100'000);
    CHECK(h.max() == 100'000);
    const auto l = h.percentiles();
    CHECK(std::abs(l.p50_ns - 50'000) / 50'000 < 0.03);
    CHECK(std::abs(l.p99_ns - 99'000) / 99'000 < 0.03);
    CHECK(std::abs(l.p999_ns - 99'900) / 99'900 < 0.03);
    h.clear();
    h.record(7);
    CHECK(h.quantile(1.0) == 7);
    h.record(1ULL << 50);  // beyond the last bucket: kept there, capped by the maximum
    CHECK(h.quantile(1.0) <= static_cast<double>(1ULL << 50));
}

TEST_CASE("sweep: an application's own flow, measured point by point") {
    Grid grid;
    grid.capacities = {64, 256};
    grid.batches = {16, 64};
    grid.waits = {WaitPolicy::busy_spin(), WaitPolicy::spin_park(256)};
    grid.chained = {true, false};
    grid.workers = {1};
    grid.repeat = 2;
    grid.items = 100;
    grid.min_run_seconds = 0.003;  // far longer than a run of 100 items: scaled up
    grid.max_items = 1'000'000;
    std::size_t calls = 0, last_done = 0, last_total = 0;
    const auto points = rill::perf::sweep(
        grid,
        [&calls](const Config& c) {
            ++calls;
            auto sum = std::make_shared<std::uint64_t>(0);
            rill::perf::Trial t;
            t.flow = rill::Flow(c.flow_options());
            t.items = c.items;
            t.flow.source("gen", rill::iota<std::uint64_t>(1, c.items + 1))
                .map("triple", [](std::uint64_t x) { return 3 * x; })
                .sink("sum", [sum](std::uint64_t x) { *sum += x; });
            t.check = [sum, n = c.items] { return *sum == 3 * (n * (n + 1) / 2); };
            return t;
        },
        [&](std::size_t done, std::size_t total) {
            last_done = done;
            last_total = total;
        });
    REQUIRE(points.size() == grid.points());
    CHECK(calls == points.size() * (grid.repeat + 1));
    CHECK(last_done == last_total);
    CHECK(last_total == points.size() * (grid.repeat + 1));
    const auto configs = grid.configs();
    std::size_t scaled = 0;
    for (std::size_t i = 0; i < points.size(); ++i) {
        const Point& p = points[i];
        CHECK(p.config.capacity == configs[i].capacity);
        CHECK(p.config.batch == configs[i].batch);
        CHECK(p.config.wait == configs[i].wait);
        CHECK(p.samples.size() == grid.repeat);
        CHECK(p.checksums_ok());
        // A run the machine happened to stall for 3 ms is not scaled; most are.
        CHECK(p.config.items >= grid.items);
        CHECK(p.config.items <= grid.max_items);
        scaled += p.config.items > grid.items ? 1 : 0;
        CHECK(p.min_items_per_second <= p.median_items_per_second);
        CHECK(p.median_items_per_second <= p.max_items_per_second);
        CHECK(p.median_cpu_seconds > 0);
        if (p.config.wait == WaitPolicy::busy_spin()) CHECK(p.median_parks == 0);
        for (const auto& s : p.samples)
            CHECK(s.items == p.config.items);
    }
    CHECK(scaled > points.size() / 2);
    const auto s = rill::perf::summarize(points);
    CHECK(s.best < points.size());
    CHECK(s.knee < points.size());
}

TEST_CASE("sweep: a failing run names its point") {
    Grid grid;
    grid.capacities = {64};
    grid.batches = {16};
    grid.waits = {WaitPolicy::spin_park(256)};
    grid.chained = {true};
    grid.workers = {1};
    grid.repeat = 1;
    grid.items = 100;
    const auto factory = [](const Config& c) {
        rill::perf::Trial t;
        t.flow = rill::Flow(c.flow_options());
        t.items = c.items;
        t.flow.source("gen", rill::iota<std::uint64_t>(1, c.items + 1))
            .map("boom",
                 [](std::uint64_t x) -> std::uint64_t {
                     if (x == 50) throw std::runtime_error("boom at 50");
                     return x;
                 })
            .sink("sum", [](std::uint64_t) {});
        return t;
    };
    CHECK_THROWS_WITH(rill::perf::sweep(grid, factory),
                      Catch::StartsWith("rill::perf::sweep: workers=1 chained wait=spin-park:256:8 "
                                        "capacity=64 batch=16: "));
}

TEST_CASE("measure: a wrong checksum is recorded, not thrown") {
    const auto sample = rill::perf::measure(
        Config{64, 16, WaitPolicy::busy_spin(), true, 1, 100}, [](const Config& c) {
            rill::perf::Trial t;
            t.flow = rill::Flow(c.flow_options());
            t.items = c.items;
            t.flow.source("gen", rill::iota<std::uint64_t>(1, c.items + 1))
                .sink("drop", [](std::uint64_t) {});
            t.check = [] { return false; };
            return t;
        });
    CHECK_FALSE(sample.checksum_ok);
    CHECK(sample.items == 100);
    CHECK(sample.seconds > 0);
}
