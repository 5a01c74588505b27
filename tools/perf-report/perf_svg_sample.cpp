// perf_svg_sample PATH: writes a chart of made-up but plausible sweep results to PATH, so that
// the chart can be checked (xmllint, a browser) without running a sweep. The grid is the
// report's default (4 capacities x 4 batches x 3 wait policies x chained/unchained) less one
// point, with noisy points, a failed checksum and latency percentiles; the numbers come from a
// formula, so the file is the same on every run.

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <vector>

#include "svg_chart.hpp"

namespace {

using rill::WaitPolicy;
using rill::perf::Config;
using rill::perf::Latency;
using rill::perf::Point;
using rill::perf::Sample;
using rill::perf::Summary;

std::vector<Point> sample_points() {
    const std::vector<std::size_t> capacities{64, 256, 1024, 4096};
    const std::vector<std::size_t> batches{1, 16, 64, 256};
    const std::vector<WaitPolicy> waits{WaitPolicy::busy_spin(), WaitPolicy::spin_yield(),
                                        WaitPolicy::spin_park(256)};
    std::vector<Point> points;
    std::size_t n = 0;
    for (std::size_t w = 0; w < waits.size(); ++w) {
        for (const bool chained : {true, false}) {
            for (const std::size_t cap : capacities) {
                for (const std::size_t batch : batches) {
                    ++n;
                    // One point missing, as when a run was cut short.
                    if (w == 2 && !chained && cap == 4096 && batch == 256) continue;
                    const double b = static_cast<double>(batch);
                    const double c = static_cast<double>(cap);
                    double ips = 180e6 * (b / (b + 6.0)) * (c / (c + 24.0)) *
                                 (1.0 - 0.12 * static_cast<double>(w)) * (chained ? 1.0 : 0.55);
                    if (batch > cap / 4) ips *= 0.8;  // a batch that fills the ring stalls it
                    Point p;
                    p.config = Config{cap, batch, waits[w], chained, 2};
                    const bool noisy = n % 7 == 3;
                    const double spread = noisy ? 0.25 : 0.04;
                    for (int r = 0; r < 5; ++r) {
                        Sample s;
                        s.items = 1'000'000;
                        const double f = 1.0 + spread * (static_cast<double>(r) - 2.0) / 4.0;
                        s.seconds = static_cast<double>(s.items) / (ips * f);
                        s.cpu_seconds = 2 * s.seconds;
                        s.checksum_ok = n != 42;
                        const double base = 900.0 * (1.0 + c / 512.0) / (1.0 + b / 64.0);
                        s.latency = Latency{base * f, base * 6.0 * f, base * 25.0 * f};
                        p.samples.push_back(s);
                    }
                    p.median_items_per_second = ips;
                    p.min_items_per_second = ips * (1.0 - spread / 2);
                    p.max_items_per_second = ips * (1.0 + spread / 2);
                    p.noisy = noisy;
                    points.push_back(p);
                }
            }
        }
    }
    return points;
}

// As summarize() defines them; computed here so that the sample needs only the chart.
Summary summary_of(const std::vector<Point>& points) {
    Summary s;
    for (std::size_t i = 0; i < points.size(); ++i) {
        if (points[i].median_items_per_second > points[s.best].median_items_per_second) s.best = i;
    }
    s.knee = s.best;
    const double limit = 0.95 * points[s.best].median_items_per_second;
    for (std::size_t i = 0; i < points.size(); ++i) {
        const Config& c = points[i].config;
        const Config& k = points[s.knee].config;
        if (points[i].median_items_per_second < limit) continue;
        if (c.capacity < k.capacity || (c.capacity == k.capacity && c.batch < k.batch)) s.knee = i;
    }
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: perf_svg_sample PATH\n";
        return 2;
    }
    const std::vector<Point> points = sample_points();
    const std::string svg = rill::perf::render_svg(points, summary_of(points),
                                                   "rill-perf-report sample: chain <x*2> & <x+1>");
    std::ofstream out(argv[1], std::ios::binary);
    out << svg;
    out.close();
    if (!out) {
        std::cerr << "perf_svg_sample: cannot write " << argv[1] << "\n";
        return 1;
    }
    std::cout << "wrote " << points.size() << " points to " << argv[1] << "\n";
    return 0;
}
