// Ring benchmarks: rill's rings against peer queues, 8-byte items, threads pinned one per CPU.
//   spsc/single    1 producer -> 1 consumer, one item per operation, capacity 1024
//   spsc/batch:B   the same moving B items per operation (where the queue has batch operations)
//   spsc/round-trip ping-pong over two queues: one item there and back
//   mpmc-2p2c/batch:B 2 producers -> 2 consumers
// Each benchmark repeats (default 5, repetitions of all benchmarks interleaved in random order) and
// reports median, min and max; the summary at the end gives
// ratios against the peers measured in this same run, and the targets from BUILD.md.
//
//   bench_ring [--reps=N] [--quick] [google benchmark flags, e.g. --benchmark_filter=spsc]

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "common/affinity.hpp"
#include "common/bench_main.hpp"
#include "common/team.hpp"
#include "ring/peers.hpp"

namespace rill::bench {
namespace {

constexpr std::uint64_t kItemsPerRound = 1 << 16;
constexpr std::uint64_t kTripsPerRound = 1 << 11;
constexpr std::size_t kCapacity = 1024;
constexpr std::size_t kBatchCapacity = 4096;

bool oversubscribed(std::size_t threads) {
    return threads > allowed_cpus().size();
}

/// Sends items first..first+n-1 into q, batch at a time where Q has batch operations.
template <class Q>
void produce(Q& q, Item first, std::uint64_t n, std::size_t batch, std::vector<Item>& buf,
             const Spin& spin) {
    if constexpr (BatchQueue<Q>) {
        if (batch > 1) {
            for (std::uint64_t i = 0; i < n;) {
                const std::size_t b =
                    static_cast<std::size_t>(std::min<std::uint64_t>(batch, n - i));
                for (std::size_t j = 0; j < b; ++j)
                    buf[j] = first + i + j;
                for (std::size_t done = 0; done < b;) {
                    const std::size_t k = q.push_n(buf.data() + done, b - done);
                    if (k == 0) spin();
                    done += k;
                }
                i += b;
            }
            return;
        }
    }
    for (std::uint64_t i = 0; i < n; ++i) {
        while (!q.push(first + i))
            spin();
    }
}

/// Takes n items from q; returns their sum.
template <class Q>
Item consume(Q& q, std::uint64_t n, std::size_t batch, std::vector<Item>& buf, const Spin& spin) {
    Item sum = 0;
    if constexpr (BatchQueue<Q>) {
        if (batch > 1) {
            for (std::uint64_t got = 0; got < n;) {
                const std::size_t want =
                    static_cast<std::size_t>(std::min<std::uint64_t>(batch, n - got));
                const std::size_t k = q.pop_n(buf.data(), want);
                if (k == 0) spin();
                for (std::size_t j = 0; j < k; ++j)
                    sum += buf[j];
                got += k;
            }
            return sum;
        }
    }
    for (std::uint64_t got = 0; got < n; ++got) {
        Item v = 0;
        while (!q.pop(v))
            spin();
        sum += v;
    }
    return sum;
}

/// Pops up to `batch` items into buf (one at a time where Q has no batch operation).
template <class Q>
std::size_t pop_some(Q& q, std::vector<Item>& buf, std::size_t batch) {
    if constexpr (BatchQueue<Q>) {
        if (batch > 1) return q.pop_n(buf.data(), batch);
    }
    return q.pop(buf[0]) ? 1 : 0;
}

Item sum_of_range(Item first, std::uint64_t n) {
    return n * first + n * (n - 1) / 2;
}

template <class Q>
void spsc_throughput(benchmark::State& state, std::size_t capacity, std::size_t batch) {
    Q q(capacity);
    const Spin spin(oversubscribed(2));
    std::vector<Item> in(batch), out(batch);
    Item consumed_sum = 0;
    Team team({[&] { consumed_sum += consume(q, kItemsPerRound, batch, out, spin); }});
    Item next = 0;
    for (auto _ : state) {
        team.round([&] { produce(q, next, kItemsPerRound, batch, in, spin); });
        next += kItemsPerRound;
    }
    if (consumed_sum != sum_of_range(0, next)) {
        mismatch("checksum " + std::to_string(consumed_sum) + ", expected " +
                 std::to_string(sum_of_range(0, next)));
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(next));
}

template <class Q>
void round_trip(benchmark::State& state) {
    Q there(kCapacity), back(kCapacity);
    const Spin spin(oversubscribed(2));
    Team team({[&] {
        for (std::uint64_t k = 0; k < kTripsPerRound; ++k) {
            Item v = 0;
            while (!there.pop(v))
                spin();
            while (!back.push(v + 1))
                spin();
        }
    }});
    std::uint64_t trips = 0, wrong = 0;
    for (auto _ : state) {
        team.round([&] {
            for (std::uint64_t k = 0; k < kTripsPerRound; ++k) {
                while (!there.push(k))
                    spin();
                Item v = 0;
                while (!back.pop(v))
                    spin();
                wrong += v != k + 1;
            }
        });
        trips += kTripsPerRound;
    }
    if (wrong != 0) mismatch(std::to_string(wrong) + " replies did not match their requests");
    state.SetItemsProcessed(static_cast<std::int64_t>(trips));
}

template <class Q>
void mpmc_2p2c(benchmark::State& state, std::size_t batch) {
    constexpr int kProducers = 2, kConsumers = 2;
    constexpr std::uint64_t kPerProducer = kItemsPerRound / kProducers;
    Q q(kCapacity);
    const Spin spin(oversubscribed(kProducers + kConsumers));
    std::atomic<int> producers_done{0};
    Item sums[kConsumers] = {};
    std::uint64_t round = 0;
    std::vector<std::vector<Item>> bufs(kProducers + kConsumers, std::vector<Item>(batch));

    auto producer = [&](int p) {
        produce(q, round * kItemsPerRound + static_cast<Item>(p) * kPerProducer, kPerProducer,
                batch, bufs[p], spin);
        // release: our pushes happen-before a consumer's acquire load that sees the count.
        producers_done.fetch_add(1, std::memory_order_release);
    };
    auto consumer = [&](int c) {
        std::vector<Item>& buf = bufs[kProducers + c];
        for (;;) {
            const std::size_t k = pop_some(q, buf, batch);
            for (std::size_t j = 0; j < k; ++j)
                sums[c] += buf[j];
            if (k > 0) continue;
            // acquire: pairs with the producers' release increments; after both, an empty queue
            // stays empty for this round.
            if (producers_done.load(std::memory_order_acquire) == kProducers) {
                const std::size_t last = pop_some(q, buf, batch);
                for (std::size_t j = 0; j < last; ++j)
                    sums[c] += buf[j];
                if (last == 0) return;
            } else {
                spin();
            }
        }
    };
    Team team({[&] { producer(1); }, [&] { consumer(0); }, [&] { consumer(1); }});
    for (auto _ : state) {
        // relaxed: published to the helpers by the release in Team::round().
        producers_done.store(0, std::memory_order_relaxed);
        team.round([&] { producer(0); });
        ++round;
    }
    if (sums[0] + sums[1] != sum_of_range(0, round * kItemsPerRound)) {
        mismatch("checksum " + std::to_string(sums[0] + sums[1]) + ", expected " +
                 std::to_string(sum_of_range(0, round * kItemsPerRound)));
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(round * kItemsPerRound));
}

// ---- registration and summary ---------------------------------------------------------------

template <class Q>
void add_spsc(const Settings& s, std::initializer_list<std::size_t> batches) {
    add(std::string("spsc/single/") + Q::name, s,
        [](benchmark::State& st) { spsc_throughput<Q>(st, kCapacity, 1); });
    for (std::size_t b : batches) {
        add("spsc/batch:" + std::to_string(b) + "/" + Q::name, s,
            [b](benchmark::State& st) { spsc_throughput<Q>(st, kBatchCapacity, b); });
    }
    add(std::string("spsc/round-trip/") + Q::name, s, round_trip<Q>);
}

template <class Q>
void add_mpmc(const Settings& s, std::initializer_list<std::size_t> batches) {
    for (std::size_t b : batches) {
        add("mpmc-2p2c/batch:" + std::to_string(b) + "/" + Q::name, s,
            [b](benchmark::State& st) { mpmc_2p2c<Q>(st, b); });
    }
}

void print_summary(const std::map<std::string, Stat>& stats, const Settings& s) {
    auto get = [&](const std::string& name) -> const Stat* {
        const auto it = stats.find(name);
        return it == stats.end() || it->second.median == 0 ? nullptr : &it->second;
    };
    print_table("Ring benchmark summary", stats, s);
    std::printf("\nTargets (ratios of medians from this run):\n");
    const Stat* rill1 = get("spsc/single/rill::SpscRing");
    const Stat* boost1 = get("spsc/single/boost::lockfree::spsc_queue");
    const Stat* rwq1 = get("spsc/single/moodycamel::ReaderWriterQueue");
    if (rill1 && boost1 && rwq1) {
        const bool boost_better = boost1->median >= rwq1->median;
        const double best = boost_better ? boost1->median : rwq1->median;
        const double r = rill1->median / best;
        std::printf(
            "- SpscRing single-item vs the better of boost spsc and ReaderWriterQueue (%s): "
            "%.2fx (target >= 1.3x) %s\n",
            boost_better ? "boost" : "ReaderWriterQueue", r, verdict(r >= 1.3));
    }
    const Stat* b1 = get("spsc/batch:1/rill::SpscRing");
    const Stat* b64 = get("spsc/batch:64/rill::SpscRing");
    if (b1 && b64) {
        const double r = b64->median / b1->median;
        std::printf("- SpscRing batch 64 vs its own single-item rate: %.2fx (target >= 5x) %s\n", r,
                    verdict(r >= 5));
    }
    if (const Stat* rt = get("spsc/round-trip/rill::SpscRing")) {
        std::string best_name;
        double best = 0;
        for (const auto& [name, st] : stats) {
            if (name.rfind("spsc/round-trip/", 0) == 0 &&
                name.find("rill::") == std::string::npos && st.median > best) {
                best = st.median;
                best_name = name.substr(16);
            }
        }
        if (best > 0) {
            std::printf(
                "- round trip: SpscRing %.0f ns vs best peer %s %.0f ns (target: no worse) %s\n",
                1e9 / rt->median, best_name.c_str(), 1e9 / best, verdict(rt->median >= best));
        }
    }
    const Stat* m1 = get("mpmc-2p2c/batch:1/rill::MpmcRing");
    const Stat* cq = get("mpmc-2p2c/batch:1/moodycamel::ConcurrentQueue");
    const Stat* tbb = get("mpmc-2p2c/batch:1/tbb::concurrent_bounded_queue");
    if (m1 && cq && tbb) {
        std::printf("- MpmcRing 2P2C single-item: %.2fx ConcurrentQueue, %.2fx TBB (no target)\n",
                    m1->median / cq->median, m1->median / tbb->median);
    }
}

}  // namespace
}  // namespace rill::bench

int main(int argc, char** argv) {
    using namespace rill::bench;
    return bench_main(
        "bench_ring", argc, argv,
        [](const Settings& s) {
            add_spsc<RillSpsc>(s, {1, 8, 64, 256});
            add_spsc<BoostSpsc>(s, {8, 64, 256});
            add_spsc<ReaderWriterQueue>(s, {});
            add_spsc<ConcurrentQueue>(s, {64});
            add_spsc<TbbBoundedQueue>(s, {});
            add_spsc<MutexChannel>(s, {});
            add_mpmc<RillMpmc>(s, {1, 64});
            add_mpmc<ConcurrentQueue>(s, {1, 64});
            add_mpmc<TbbBoundedQueue>(s, {1});
        },
        print_summary);
}
