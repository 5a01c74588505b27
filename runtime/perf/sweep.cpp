// rill::perf::sweep: runs a factory's flow over a grid of settings and summarizes the runs.

#include <dirent.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "rill/flow/run.hpp"
#include "rill/perf/sweep.hpp"
#include "rill/runtime/runtime.hpp"

namespace rill::perf {
namespace {

using Clock = std::chrono::steady_clock;

/// CPU time of every live thread of the process. The process clock (CLOCK_PROCESS_CPUTIME_ID)
/// misses what each thread running on another CPU has used since that CPU's last scheduler tick
/// (up to 4 ms at HZ=250: most of a short run); a thread's own CPU clock, read from any thread,
/// includes it. The workers live from before the run to after it, so none is missed.
double process_cpu_seconds() {
    DIR* dir = opendir("/proc/self/task");
    if (dir == nullptr) {
        timespec ts{};
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
    }
    double total = 0;
    while (const dirent* e = readdir(dir)) {
        char* end = nullptr;
        const long tid = std::strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '\0') continue;  // "." and ".."
        // The kernel's thread CPU clock id (MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)), as glibc's
        // pthread_getcpuclockid builds it; a thread that has just exited fails and is skipped.
        const auto id = static_cast<clockid_t>((~static_cast<unsigned>(tid) << 3) | 6u);
        timespec ts{};
        if (clock_gettime(id, &ts) == 0) {
            total += static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
        }
    }
    closedir(dir);
    return total;
}

bool can_park(const WaitPolicy& p) noexcept {
    return p.mode == WaitPolicy::Mode::spin_park || p.mode == WaitPolicy::Mode::park;
}

/// Waits (up to a bound) until every worker in `which` is parked on its EventCount. A worker
/// publishes its park count only when the park ends, so parking them before and after the run
/// makes the run's count exact: before, every worker the run wakes adds the one park it leaves;
/// after, every park of the run has ended and been published.
void settle_parked(Runtime& runtime, const std::vector<bool>& which) {
    const Clock::time_point give_up = Clock::now() + std::chrono::milliseconds(20);
    for (unsigned w = 0; w < which.size(); ++w) {
        if (!which[w]) continue;
        while (!runtime.worker_stats(w).parked && Clock::now() < give_up)
            std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
}

std::uint64_t total_parks(const Runtime& runtime) {
    std::uint64_t parks = 0;
    for (unsigned w = 0; w < runtime.workers(); ++w)
        parks += runtime.worker_stats(w).parks;
    return parks;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

template <class Get>
double median_of(const std::vector<Sample>& samples, Get get) {
    std::vector<double> v;
    v.reserve(samples.size());
    for (const Sample& s : samples)
        v.push_back(get(s));
    return median(std::move(v));
}

}  // namespace

void summarize_samples(Point& p, double noisy_spread) {
    const auto& s = p.samples;
    p.median_items_per_second = median_of(s, [](const Sample& x) { return x.items_per_second(); });
    p.min_items_per_second = s.empty() ? 0 : s.front().items_per_second();
    p.max_items_per_second = p.min_items_per_second;
    for (const Sample& x : s) {
        p.min_items_per_second = std::min(p.min_items_per_second, x.items_per_second());
        p.max_items_per_second = std::max(p.max_items_per_second, x.items_per_second());
    }
    p.noisy = p.spread() > noisy_spread;
    p.median_cpu_seconds = median_of(s, [](const Sample& x) { return x.cpu_seconds; });
    p.median_parks = median_of(s, [](const Sample& x) { return static_cast<double>(x.parks); });
    const bool has_latency =
        !s.empty() && std::all_of(s.begin(), s.end(), [](const Sample& x) { return x.latency; });
    if (has_latency) {
        p.latency = Latency{
            median_of(s, [](const Sample& x) { return x.latency->p50_ns; }),
            median_of(s, [](const Sample& x) { return x.latency->p99_ns; }),
            median_of(s, [](const Sample& x) { return x.latency->p999_ns; }),
        };
    }
}

namespace {

template <class T>
void require_nonempty(const std::vector<T>& v, const char* field) {
    if (v.empty()) {
        throw std::invalid_argument(std::string("rill::perf::Grid.") + field +
                                    " is empty; give at least one value");
    }
}

}  // namespace

std::string to_string(const Config& c) {
    return "workers=" + std::to_string(c.workers) + (c.chained ? " chained" : " unchained") +
           " wait=" + to_string(c.wait) + " capacity=" + std::to_string(c.capacity) +
           " batch=" + std::to_string(c.batch);
}

void Grid::validate() const {
    require_nonempty(capacities, "capacities");
    require_nonempty(batches, "batches");
    require_nonempty(waits, "waits");
    require_nonempty(chained, "chained");
    require_nonempty(workers, "workers");
    for (const std::size_t c : capacities) {
        if (c < 2 || c > kMaxStageCapacity || (c & (c - 1)) != 0) {
            throw std::invalid_argument("rill::perf::Grid.capacities: " + std::to_string(c) +
                                        " is not a power of two from 2 to " +
                                        std::to_string(kMaxStageCapacity));
        }
    }
    for (const std::size_t b : batches) {
        if (b < 1 || b > kMaxStageBatch) {
            throw std::invalid_argument("rill::perf::Grid.batches: " + std::to_string(b) +
                                        " is not from 1 to " + std::to_string(kMaxStageBatch));
        }
    }
    for (const WaitPolicy& w : waits) {
        try {
            w.validate();
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(std::string("rill::perf::Grid.waits: ") + e.what());
        }
    }
    for (const unsigned w : workers) {
        if (w == 0 || w > RuntimeOptions::kMaxWorkers) {
            throw std::invalid_argument("rill::perf::Grid.workers: " + std::to_string(w) +
                                        " is not from 1 to " +
                                        std::to_string(RuntimeOptions::kMaxWorkers));
        }
    }
    if (repeat == 0) throw std::invalid_argument("rill::perf::Grid.repeat is 0; it must be >= 1");
    if (items == 0) throw std::invalid_argument("rill::perf::Grid.items is 0; it must be >= 1");
    if (max_items < items) {
        throw std::invalid_argument("rill::perf::Grid.max_items " + std::to_string(max_items) +
                                    " is below Grid.items " + std::to_string(items));
    }
    if (!(min_run_seconds >= 0)) {
        throw std::invalid_argument("rill::perf::Grid.min_run_seconds " +
                                    std::to_string(min_run_seconds) + " must be >= 0");
    }
    if (!(noisy_spread >= 0)) {
        throw std::invalid_argument("rill::perf::Grid.noisy_spread " +
                                    std::to_string(noisy_spread) + " must be >= 0");
    }
}

std::vector<Config> Grid::configs() const {
    std::vector<Config> out;
    out.reserve(points());
    for (const unsigned w : workers)
        for (const bool ch : chained)
            for (const WaitPolicy& wait : waits)
                for (const std::size_t cap : capacities)
                    for (const std::size_t b : batches)
                        out.push_back(Config{cap, b, wait, ch, w, items});
    return out;
}

Sample measure(const Config& config, const Factory& factory) {
    Trial trial = factory(config);
    Runtime runtime(RuntimeOptions{.workers = config.workers, .wait = config.wait});
    const unsigned n = runtime.workers();
    const bool parking = can_park(config.wait);
    std::vector<bool> parked(n, false);
    if (parking) {
        settle_parked(runtime, std::vector<bool>(n, true));
        for (unsigned w = 0; w < n; ++w)
            parked[w] = runtime.worker_stats(w).parked;
    }
    const std::uint64_t parks_before = total_parks(runtime);

    const double cpu0 = process_cpu_seconds();
    const Clock::time_point t0 = Clock::now();
    Run run = runtime.start(trial.flow);
    const RunStatus status = run.wait();
    const Clock::time_point t1 = Clock::now();
    const double cpu1 = process_cpu_seconds();

    std::vector<bool> used(n, false);
    for (const StageMetrics& s : run.metrics().stages)
        used[s.worker] = true;
    std::uint64_t woken = 0;
    if (parking) {
        settle_parked(runtime, used);
        for (unsigned w = 0; w < n; ++w)
            woken += (used[w] && parked[w]) ? 1 : 0;
    }
    const std::uint64_t parks = total_parks(runtime) - parks_before;

    Sample s;
    s.seconds = std::chrono::duration<double>(t1 - t0).count();
    s.items = trial.items;
    s.cpu_seconds = cpu1 - cpu0;
    s.parks = parks > woken ? parks - woken : 0;
    s.checksum_ok = status == RunStatus::completed && (!trial.check || trial.check());
    if (trial.latency) s.latency = trial.latency();
    return s;
}

std::vector<Point> sweep(const Grid& grid, const Factory& factory, const Progress& progress) {
    grid.validate();
    const std::vector<Config> configs = grid.configs();
    std::vector<Point> points(configs.size());
    for (std::size_t i = 0; i < configs.size(); ++i) {
        points[i].config = configs[i];
        points[i].samples.reserve(grid.repeat);
    }
    const auto run_point = [&](const Config& c) {
        try {
            return measure(c, factory);
        } catch (const std::exception& e) {
            throw std::runtime_error("rill::perf::sweep: " + to_string(c) + ": " + e.what());
        }
    };
    const std::size_t total = configs.size() * (grid.repeat + 1);
    std::size_t done = 0;
    // The unmeasured first pass faults in code, pages and pools, and sizes each point's runs.
    for (Point& p : points) {
        const Sample first = run_point(p.config);
        if (grid.min_run_seconds > 0 && first.seconds < grid.min_run_seconds) {
            const double scale = grid.min_run_seconds / std::max(first.seconds, 1e-9);
            const double items = std::ceil(static_cast<double>(p.config.items) * scale);
            p.config.items = items >= static_cast<double>(grid.max_items)
                                 ? grid.max_items
                                 : static_cast<std::uint64_t>(items);
        }
        if (progress) progress(++done, total);
    }
    for (unsigned rep = 0; rep < grid.repeat; ++rep) {
        for (Point& p : points) {
            p.samples.push_back(run_point(p.config));
            if (progress) progress(++done, total);
        }
    }
    for (Point& p : points)
        summarize_samples(p, grid.noisy_spread);
    return points;
}

Summary summarize(const std::vector<Point>& points, double knee_within, Goal goal) {
    if (points.empty()) throw std::invalid_argument("rill::perf::summarize: no points");
    // score: higher is better, so that both goals share the search.
    const auto score = [goal](const Point& p) {
        if (goal == Goal::throughput) return p.median_items_per_second;
        return p.latency ? -p.latency->p99_ns : -std::numeric_limits<double>::infinity();
    };
    Summary s;
    s.goal = goal;
    for (std::size_t i = 1; i < points.size(); ++i) {
        if (score(points[i]) > score(points[s.best])) s.best = i;
    }
    const Point& best = points[s.best];
    if (goal == Goal::latency_p99 && !best.latency) {
        throw std::invalid_argument("rill::perf::summarize: no point has latency percentiles");
    }
    const auto good_enough = [&](const Point& p) {
        if (goal == Goal::throughput) {
            return p.median_items_per_second >= (1 - knee_within) * best.median_items_per_second;
        }
        return p.latency && p.latency->p99_ns <= (1 + knee_within) * best.latency->p99_ns;
    };
    s.knee = s.best;
    for (std::size_t i = 0; i < points.size(); ++i) {
        const Config& c = points[i].config;
        const Config& k = points[s.knee].config;
        if (c.wait != best.config.wait || c.chained != best.config.chained ||
            c.workers != best.config.workers || !good_enough(points[i])) {
            continue;
        }
        if (c.capacity < k.capacity || (c.capacity == k.capacity && c.batch < k.batch)) s.knee = i;
    }
    return s;
}

}  // namespace rill::perf
