// Zero allocations per call in steady state: four threads call a two-stage service (the second
// stage behind a ring) with up to 16 calls outstanding each. Both routes are counted
// (support/counting_new.hpp): the global operator new and rill's own allocator; after a warm-up
// (each thread's inlet producer, its blocks) neither count may move over the calls. A call that
// is never answered times out after 30 s and is counted as failed.
// Its own executable, since it replaces operator new.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <thread>
#include <vector>

#include "rill/rill.hpp"
#include "support/counting_new.hpp"
#include "support/stress_config.hpp"

TEST_CASE("service: no allocation per call in steady state", "[service][allocations]") {
    using namespace std::chrono_literals;
    using rill::test::AllocationCount;
    constexpr int kThreads = 4;
    constexpr std::size_t kWindow = 16;
    const auto calls = static_cast<int>(rill::test::stress_items(50'000, 10));

    rill::Runtime rt({.workers = 2, .allow_oversubscription = true});
    rill::Flow flow;
    auto [svc, requests] = flow.service<int, std::uint64_t>("squares", {.max_in_flight = 64});
    requests.map("square", [](int x) { return std::uint64_t(x) * std::uint64_t(x); })
        .map("same", [](std::uint64_t x) { return x; }, {.chain = false})
        .respond("answer");
    rill::Run run = rt.start(flow);

    std::atomic<int> arrived{0};
    AllocationCount before, after;  // written by the barrier's last thread, read after the joins
    std::atomic<std::uint64_t> wrong{0}, failed{0};
    // Every thread waits for the others here; the last to arrive reads the counters.
    const auto barrier = [&](int round, AllocationCount& reading) {
        if (arrived.fetch_add(1) + 1 == round * kThreads) {
            reading = AllocationCount::now();
            arrived.fetch_add(1);  // releases the others
        }
        while (arrived.load() < round * kThreads + round)
            std::this_thread::yield();
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, s = svc] {
            std::vector<rill::Reply<std::uint64_t>> replies;
            replies.reserve(kWindow);
            const auto run_calls = [&] {
                try {
                    for (int i = 0; i < calls; ++i) {
                        replies.push_back(s.call(i, 30s));
                        if (replies.size() == kWindow || i + 1 == calls) {
                            const int first = i + 1 - static_cast<int>(replies.size());
                            for (std::size_t k = 0; k < replies.size(); ++k) {
                                const auto x =
                                    static_cast<std::uint64_t>(first + static_cast<int>(k));
                                if (replies[k].get() != x * x) wrong.fetch_add(1);
                            }
                            replies.clear();
                        }
                    }
                } catch (const rill::CallError&) {  // no slot or no answer in 30 s: give up
                    failed.fetch_add(1);
                    replies.clear();
                }
            };
            run_calls();  // warm-up
            barrier(1, before);
            run_calls();
            barrier(2, after);
        });
    }
    for (auto& t : threads)
        t.join();
    const AllocationCount during = after - before;
    INFO("allocations during " << kThreads << " x " << calls << " calls: " << during);
    CHECK(wrong.load() == 0);
    CHECK(failed.load() == 0);
    CHECK(before.global_new > 0);  // the counting operator new is the one in use
    CHECK(before.rill > 0);        // and rill's counter too (call slots, rings)
    CHECK(during.none());
    svc.close();
    CHECK(run.wait() == rill::RunStatus::completed);
    CHECK(run.metrics().balanced());
}
