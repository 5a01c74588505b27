#pragma once
// Multi-producer multi-consumer stress for any ring: checksum, a per-item ledger (every item
// popped exactly once) and FIFO per producer as seen by each consumer. A progress watchdog stops
// the threads when no item is popped for stall_limit() (an item the ring lost leaves the
// consumers waiting for ever), so that the ledger still says what went missing.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "rill/detail/backoff.hpp"
#include "support/item_ledger.hpp"
#include "support/progress_watchdog.hpp"

namespace rill::test {

struct StressConfig {
    int producers = 1;
    int consumers = 1;
    std::size_t batch = 1;
    std::uint64_t items = 0;  // in total, split evenly over producers
};

struct StressResult {
    std::uint64_t pushed = 0;  // items the producers got into the ring
    std::uint64_t pushed_sum = 0;
    std::uint64_t popped_sum = 0;
    /// Over the pushed items: missing (never popped), duplicated (popped more than once),
    /// unexpected (a value nobody pushed).
    LedgerVerdict ledger;
    std::uint64_t out_of_order = 0;  // items a consumer saw before an earlier one of its producer
    bool stalled = false;            // the watchdog stopped the run
    std::string watchdog;            // what it said

    [[nodiscard]] std::string describe() const {
        std::ostringstream out;
        out << watchdog << "; " << pushed << " pushed; " << ledger << "; out of order "
            << out_of_order;
        return out.str();
    }
};

// With more threads than cores a pure spin starves the thread we wait for: back off to yields.
using detail::Backoff;

// An item is (producer << 40) | sequence number within its producer.
inline constexpr unsigned kProducerShift = 40;

template <class Ring>
StressResult run_stress(Ring& ring, const StressConfig& cfg) {
    const std::uint64_t per_producer = cfg.items / static_cast<std::uint64_t>(cfg.producers);
    const std::uint64_t total = per_producer * static_cast<std::uint64_t>(cfg.producers);
    std::atomic<std::uint64_t> consumed{0};  // the consumers' termination count
    std::atomic<bool> go{false};
    // The watchdog's stop flag, on a line of its own: the producers read it while the consumers
    // hammer `consumed`.
    struct alignas(64) StopFlag {
        std::atomic<bool> flag{false};
    } stop_line;
    std::atomic<bool>& stop = stop_line.flag;
    std::vector<ItemLedger> ledgers(cfg.consumers);  // per consumer: pops per item
    std::vector<std::uint64_t> popped_sums(cfg.consumers), disorder(cfg.consumers);
    std::vector<std::uint64_t> pushed(cfg.producers);  // per producer: items it got in
    std::vector<std::thread> threads;

    for (int p = 0; p < cfg.producers; ++p) {
        threads.emplace_back([&, p] {
            while (!go.load(std::memory_order_acquire))
                std::this_thread::yield();
            std::vector<typename Ring::value_type> buf(cfg.batch);
            const std::uint64_t base = static_cast<std::uint64_t>(p) << kProducerShift;
            Backoff backoff;
            std::uint64_t seq = 0;
            bool stopped = false;
            // The stop flag is read only when the ring is full: a producer that never finds it
            // full ends by itself.
            while (seq < per_producer && !stopped) {
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
                    seq += k;
                    if (k != 0) {
                        backoff.reset();
                    } else if (stop.load(std::memory_order_relaxed)) {
                        // relaxed: the watchdog's stop flag; the threads are joined before
                        // anything is read.
                        stopped = true;
                        break;
                    } else {
                        backoff.pause();
                    }
                }
            }
            pushed[p] = seq;
        });
    }
    for (int c = 0; c < cfg.consumers; ++c) {
        threads.emplace_back([&, c] {
            ItemLedger ledger(total);
            std::vector<std::uint64_t> next_seq(cfg.producers, 0);  // lowest acceptable next seq
            std::vector<typename Ring::value_type> buf(cfg.batch);
            std::uint64_t sum = 0, bad_order = 0;
            Backoff backoff;
            while (!go.load(std::memory_order_acquire))
                std::this_thread::yield();
            // relaxed: only a termination count and the watchdog's stop flag; the items themselves
            // come through the ring.
            while (consumed.load(std::memory_order_relaxed) < total &&
                   !stop.load(std::memory_order_relaxed)) {
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
                        ledger.mark(total);  // a value nobody pushed: unexpected
                        continue;
                    }
                    if (seq < next_seq[p]) ++bad_order;
                    next_seq[p] = seq + 1;
                    ledger.mark(p * per_producer + seq);
                }
                // relaxed: as above.
                consumed.fetch_add(k, std::memory_order_relaxed);
            }
            popped_sums[c] = sum;
            disorder[c] = bad_order;
            ledgers[c] = std::move(ledger);
        });
    }
    StressResult r;
    {
        const ProgressWatchdog dog("ring stress", consumed, [&] {
            stop.store(true, std::memory_order_relaxed);  // relaxed: see the threads
        });
        // release: pairs with the threads' acquire of go; the ring and config are set up.
        go.store(true, std::memory_order_release);
        for (auto& t : threads)
            t.join();
        r.stalled = dog.stalled();
        r.watchdog = dog.describe();
    }

    for (std::uint64_t p = 0; p < static_cast<std::uint64_t>(cfg.producers); ++p) {
        r.pushed += pushed[p];
        for (std::uint64_t s = 0; s < pushed[p]; ++s)
            r.pushed_sum += (p << kProducerShift) | s;
    }
    for (int c = 0; c < cfg.consumers; ++c) {
        r.popped_sum += popped_sums[c];
        r.out_of_order += disorder[c];
        if (c > 0) ledgers[0].merge(ledgers[c]);
    }
    // Items are expected once each if their producer got them in.
    r.ledger = ledgers[0].verdict(
        [&](std::uint64_t i) { return i % per_producer < pushed[i / per_producer]; });
    return r;
}

}  // namespace rill::test
