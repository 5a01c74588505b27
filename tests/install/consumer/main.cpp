// A program outside rill's tree: a producer thread, a consumer thread, an SpscRing between them
// and an EventCount to park the consumer when the ring is empty.
#include <rill/rill.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <thread>

int main() {
    rill::SpscRing<std::uint64_t> ring(64);
    rill::EventCount not_empty;
    std::atomic<bool> done{false};
    constexpr std::uint64_t kItems = 100'000;
    std::thread producer([&] {
        for (std::uint64_t i = 1; i <= kItems; ++i) {
            while (!ring.try_push(i))
                std::this_thread::yield();
            not_empty.notify_one();
        }
        done = true;
        not_empty.notify_one();
    });
    std::uint64_t sum = 0;
    rill::Waiter waiter(rill::WaitPolicy::spin_park());
    for (;;) {
        if (auto v = ring.try_pop()) {
            sum += *v;
            continue;
        }
        if (done && ring.empty_approx()) break;
        waiter.wait(not_empty, [&] { return !ring.empty_approx() || done.load(); });
    }
    producer.join();
    const std::uint64_t expect = kItems * (kItems + 1) / 2;
    std::printf("consumer: sum %llu, expected %llu\n", static_cast<unsigned long long>(sum),
                static_cast<unsigned long long>(expect));
    return sum == expect ? 0 : 1;
}
