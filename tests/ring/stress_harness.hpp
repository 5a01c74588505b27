#pragma once
// Multi-producer multi-consumer stress for any ring: checksum, a per-item ledger (every item
// popped exactly once) and FIFO per producer as seen by each consumer.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "rill/detail/backoff.hpp"

namespace rill::test {

struct StressConfig {
    int producers = 1;
    int consumers = 1;
    std::size_t batch = 1;
    std::uint64_t items = 0;  // in total, split evenly over producers
};

struct StressResult {
    std::uint64_t pushed_sum = 0;
    std::uint64_t popped_sum = 0;
    std::uint64_t popped = 0;
    std::uint64_t missing = 0;       // items never popped
    std::uint64_t duplicated = 0;    // items popped more than once
    std::uint64_t out_of_order = 0;  // items a consumer saw before an earlier one of its producer
};

// With more threads than cores a pure spin starves the thread we wait for: back off to yields.
using detail::Backoff;

// An item is (producer << 40) | sequence number within its producer.
inline constexpr unsigned kProducerShift = 40;

template <class Ring>
StressResult run_stress(Ring& ring, const StressConfig& cfg) {
    const std::uint64_t per_producer = cfg.items / static_cast<std::uint64_t>(cfg.producers);
    const std::uint64_t total = per_producer * static_cast<std::uint64_t>(cfg.producers);
    std::atomic<std::uint64_t> consumed{0};
    std::atomic<bool> go{false};
    std::vector<std::vector<std::uint32_t>> ledgers(cfg.consumers);  // per consumer: pops per item
    std::vector<std::uint64_t> popped_sums(cfg.consumers), disorder(cfg.consumers);
    std::vector<std::thread> threads;

    for (int p = 0; p < cfg.producers; ++p) {
        threads.emplace_back([&, p] {
            while (!go.load(std::memory_order_acquire))
                std::this_thread::yield();
            std::vector<typename Ring::value_type> buf(cfg.batch);
            const std::uint64_t base = static_cast<std::uint64_t>(p) << kProducerShift;
            Backoff backoff;
            for (std::uint64_t seq = 0; seq < per_producer;) {
                const std::size_t n = static_cast<std::size_t>(
                    std::min<std::uint64_t>(cfg.batch, per_producer - seq));
                for (std::size_t i = 0; i < n; ++i)
                    buf[i] = typename Ring::value_type(base | (seq + i));
                for (std::size_t done = 0; done < n;) {
                    const std::size_t k =
                        n == 1 ? (ring.try_push(std::move(buf[0])) ? 1 : 0)
                               : ring.try_push_n(buf.begin() + static_cast<std::ptrdiff_t>(done),
                                                 n - done);
                    done += k;
                    if (k == 0)
                        backoff.pause();
                    else
                        backoff.reset();
                }
                seq += n;
            }
        });
    }
    for (int c = 0; c < cfg.consumers; ++c) {
        threads.emplace_back([&, c] {
            std::vector<std::uint32_t> ledger(total);
            std::vector<std::uint64_t> next_seq(cfg.producers, 0);  // lowest acceptable next seq
            std::vector<typename Ring::value_type> buf(cfg.batch);
            std::uint64_t sum = 0, bad_order = 0;
            Backoff backoff;
            while (!go.load(std::memory_order_acquire))
                std::this_thread::yield();
            // relaxed: only a termination count; the items themselves come through the ring.
            while (consumed.load(std::memory_order_relaxed) < total) {
                const std::size_t k = cfg.batch == 1 ? (ring.try_pop(buf[0]) ? 1 : 0)
                                                     : ring.try_pop_n(buf.begin(), cfg.batch);
                if (k == 0) {
                    backoff.pause();
                    continue;
                }
                backoff.reset();
                for (std::size_t i = 0; i < k; ++i) {
                    const auto v = static_cast<std::uint64_t>(buf[i]);
                    const std::uint64_t p = v >> kProducerShift;
                    const std::uint64_t seq = v & ((std::uint64_t{1} << kProducerShift) - 1);
                    sum += v;
                    if (p >= static_cast<std::uint64_t>(cfg.producers) || seq >= per_producer) {
                        ++bad_order;  // a value nobody pushed
                        continue;
                    }
                    if (seq < next_seq[p]) ++bad_order;
                    next_seq[p] = seq + 1;
                    ++ledger[p * per_producer + seq];
                }
                // relaxed: as above.
                consumed.fetch_add(k, std::memory_order_relaxed);
            }
            popped_sums[c] = sum;
            disorder[c] = bad_order;
            ledgers[c] = std::move(ledger);
        });
    }
    go.store(true, std::memory_order_release);
    for (auto& t : threads)
        t.join();

    StressResult r;
    for (std::uint64_t p = 0; p < static_cast<std::uint64_t>(cfg.producers); ++p) {
        for (std::uint64_t s = 0; s < per_producer; ++s)
            r.pushed_sum += (p << kProducerShift) | s;
    }
    for (int c = 0; c < cfg.consumers; ++c) {
        r.popped_sum += popped_sums[c];
        r.out_of_order += disorder[c];
    }
    for (std::uint64_t i = 0; i < total; ++i) {
        std::uint64_t seen = 0;
        for (const auto& ledger : ledgers)
            seen += ledger[i];
        r.popped += seen;
        if (seen == 0) ++r.missing;
        if (seen > 1) r.duplicated += seen - 1;
    }
    return r;
}

}  // namespace rill::test
