// Two threads and one SpscRing: the producer writes batches in place (claim/publish), the consumer
// reads them in place (peek/release) and parks on an EventCount when the ring is empty. This is
// the hand-off every rill edge uses, shown without the runtime.
//
//   spsc_handoff [items] [capacity] [batch]

#include <rill/rill.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include "rill_cli/whole_number.hpp"

namespace {

std::uint64_t arg(int argc, char** argv, int i, std::uint64_t fallback, const char* what) {
    if (argc <= i) return fallback;
    constexpr std::uint64_t kMax = std::uint64_t{1} << 40;
    const auto v = rill::cli::whole_number(argv[i], 1, kMax);
    if (!v) {
        throw std::invalid_argument(std::string(what) + " '" + argv[i] +
                                    "': " + rill::cli::expected_whole_number(1, kMax));
    }
    return *v;
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc > 4) throw std::invalid_argument("usage: spsc_handoff [items] [capacity] [batch]");
    const std::uint64_t items = arg(argc, argv, 1, 10'000'000, "items");
    const std::size_t capacity = arg(argc, argv, 2, 1024, "capacity");
    const std::size_t batch = arg(argc, argv, 3, 64, "batch");

    rill::SpscRing<std::uint64_t> ring(capacity);  // throws if capacity is not a power of two
    rill::EventCount not_empty, not_full;
    std::atomic<bool> producer_done{false};
    const rill::WaitPolicy policy = rill::WaitPolicy::spin_park();

    const auto start = std::chrono::steady_clock::now();
    std::thread producer([&] {
        rill::Waiter waiter(policy);
        for (std::uint64_t next = 1; next <= items;) {
            rill::RingSpans<std::uint64_t> slots =
                ring.claim(std::min<std::uint64_t>(batch, items - next + 1));
            if (slots.empty()) {
                waiter.wait(not_full, [&] { return ring.size_approx() < ring.capacity(); });
                continue;
            }
            slots.for_each([&](std::uint64_t& slot) { slot = next++; });
            ring.publish(slots.size());
            not_empty.notify_one();  // one fence and one load when the consumer is awake
        }
        producer_done = true;
        not_empty.notify_one();
    });

    rill::Waiter waiter(policy);
    std::uint64_t sum = 0, received = 0;
    for (;;) {
        rill::RingSpans<std::uint64_t> ready = ring.peek(batch);
        if (ready.empty()) {
            if (producer_done.load() && ring.empty_approx()) break;
            waiter.wait(not_empty, [&] { return !ring.empty_approx() || producer_done.load(); });
            continue;
        }
        ready.for_each([&](std::uint64_t& x) { sum += x; });
        received += ready.size();
        ring.release(ready.size());
        not_full.notify_one();
    }
    producer.join();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    const std::uint64_t expect = items * (items + 1) / 2;
    std::printf(
        "items %llu, capacity %zu, batch %zu: %.1f M items/s; consumer spun %llu, "
        "yielded %llu, parked %llu times\n",
        static_cast<unsigned long long>(received), capacity, batch,
        static_cast<double>(items) / secs / 1e6,
        static_cast<unsigned long long>(waiter.stats().spins),
        static_cast<unsigned long long>(waiter.stats().yields),
        static_cast<unsigned long long>(waiter.stats().parks));
    if (sum != expect || received != items) {
        std::fprintf(stderr, "spsc_handoff: checksum %llu, expected %llu\n",
                     static_cast<unsigned long long>(sum), static_cast<unsigned long long>(expect));
        return 1;
    }
    return 0;
} catch (const std::invalid_argument& e) {  // a bad argument, the ring's capacity included
    std::fprintf(stderr, "spsc_handoff: %s\n", e.what());
    return 2;
} catch (const std::exception& e) {
    std::fprintf(stderr, "spsc_handoff: %s\n", e.what());
    return 1;
}
