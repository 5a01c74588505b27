// A program outside rill's tree, built against an installed rill (or add_subdirectory): an
// SpscRing between two threads with an EventCount, then a Runtime running a Flow. It also checks
// which library serves the application's malloc (EXPECT_MALLOC_FROM): glibc's with rill::rill,
// mimalloc's with rill::mimalloc.
#include <dlfcn.h>

#include <rill/rill.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace {

bool ring_handoff() {
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
    std::printf("consumer: ring sum %llu, expected %llu\n", static_cast<unsigned long long>(sum),
                static_cast<unsigned long long>(expect));
    return sum == expect;
}

bool flow_run() {
    rill::Runtime runtime({.workers = 2, .allow_oversubscription = true});
    rill::Flow flow;
    std::uint64_t sum = 0;
    flow.source("numbers", rill::iota<std::uint64_t>(1, 100'001))
        .map("square", [](std::uint64_t x) { return x * x; }, {.replicas = 2, .ordered = true})
        .sink("sum", [&sum](std::uint64_t x) { sum += x; });
    rill::Run run = runtime.start(flow);
    const rill::RunStatus status = run.wait();
    std::uint64_t expect = 0;
    for (std::uint64_t x = 1; x <= 100'000; ++x)
        expect += x * x;
    std::printf("consumer: flow %s, sum %llu, expected %llu\n",
                std::string(rill::to_string(status)).c_str(), static_cast<unsigned long long>(sum),
                static_cast<unsigned long long>(expect));
    return status == rill::RunStatus::completed && sum == expect && run.metrics().balanced();
}

bool allocator() {
    Dl_info info{};
    void* (*const m)(std::size_t) = &std::malloc;
    if (dladdr(reinterpret_cast<void*>(m), &info) == 0 || info.dli_fname == nullptr) {
        std::printf("consumer: dladdr cannot tell where malloc comes from\n");
        return false;
    }
    const bool ok = std::strstr(info.dli_fname, EXPECT_MALLOC_FROM) != nullptr;
    std::printf("consumer: malloc comes from %s (expected %s)\n", info.dli_fname,
                EXPECT_MALLOC_FROM);
    return ok;
}

}  // namespace

int main() {
    const bool ring = ring_handoff();
    const bool flow = flow_run();
    const bool alloc = allocator();
    return ring && flow && alloc ? 0 : 1;
}
