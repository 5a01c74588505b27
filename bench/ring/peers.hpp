#pragma once
// The queues the ring benchmarks compare, behind one interface:
//   explicit Q(std::size_t capacity);  bool push(V);  bool pop(V&);
//   optional: std::size_t push_n(const V*, std::size_t);  std::size_t pop_n(V*, std::size_t);
// push/pop return false when full/empty; the caller waits and retries. The mutex + condition
// variable channel blocks instead, like a Go channel, and never returns false.

#include <concurrentqueue/concurrentqueue.h>
#include <readerwriterqueue/readerwriterqueue.h>
#include <tbb/concurrent_queue.h>
#include <boost/lockfree/spsc_queue.hpp>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <type_traits>
#include <vector>

#include "rill/ring/mpmc_ring.hpp"
#include "rill/ring/spsc_ring.hpp"

namespace rill::bench {

using Item = std::uint64_t;

template <template <class> class Ring>
struct RillRing {
    static constexpr const char* name =
        std::is_same_v<Ring<Item>, SpscRing<Item>> ? "rill::SpscRing" : "rill::MpmcRing";
    explicit RillRing(std::size_t cap) : q(cap) {}
    bool push(Item v) noexcept { return q.try_push(v); }
    bool pop(Item& v) noexcept { return q.try_pop(v); }
    std::size_t push_n(const Item* p, std::size_t n) noexcept { return q.try_push_n(p, n); }
    std::size_t pop_n(Item* p, std::size_t n) noexcept { return q.try_pop_n(p, n); }
    Ring<Item> q;
};
using RillSpsc = RillRing<SpscRing>;
using RillMpmc = RillRing<MpmcRing>;

struct BoostSpsc {
    static constexpr const char* name = "boost::lockfree::spsc_queue";
    explicit BoostSpsc(std::size_t cap) : q(cap) {}
    bool push(Item v) noexcept { return q.push(v); }
    bool pop(Item& v) noexcept { return q.pop(v); }
    std::size_t push_n(const Item* p, std::size_t n) noexcept { return q.push(p, n); }
    std::size_t pop_n(Item* p, std::size_t n) noexcept { return q.pop(p, n); }
    boost::lockfree::spsc_queue<Item> q;
};

struct ReaderWriterQueue {
    static constexpr const char* name = "moodycamel::ReaderWriterQueue";
    explicit ReaderWriterQueue(std::size_t cap) : q(cap) {}
    bool push(Item v) noexcept { return q.try_enqueue(v); }  // never allocates
    bool pop(Item& v) noexcept { return q.try_dequeue(v); }
    moodycamel::ReaderWriterQueue<Item> q;
};

struct ConcurrentQueue {
    static constexpr const char* name = "moodycamel::ConcurrentQueue";
    explicit ConcurrentQueue(std::size_t cap) : q(cap) {}
    bool push(Item v) noexcept { return q.try_enqueue(v); }  // within preallocated blocks
    bool pop(Item& v) noexcept { return q.try_dequeue(v); }
    std::size_t push_n(const Item* p, std::size_t n) noexcept {
        return q.try_enqueue_bulk(p, n) ? n : 0;
    }
    std::size_t pop_n(Item* p, std::size_t n) noexcept { return q.try_dequeue_bulk(p, n); }
    moodycamel::ConcurrentQueue<Item> q;
};

struct TbbBoundedQueue {
    static constexpr const char* name = "tbb::concurrent_bounded_queue";
    explicit TbbBoundedQueue(std::size_t cap) { q.set_capacity(static_cast<std::ptrdiff_t>(cap)); }
    bool push(Item v) { return q.try_push(v); }
    bool pop(Item& v) { return q.try_pop(v); }
    tbb::concurrent_bounded_queue<Item> q;
};

/// A bounded channel guarded by a mutex, with condition variables for full and empty: the Go
/// channel design, written in C++. push and pop block.
struct MutexChannel {
    static constexpr const char* name = "mutex+condvar channel";
    explicit MutexChannel(std::size_t cap) : buf(cap) {}
    bool push(Item v) {
        std::unique_lock lock(m);
        not_full.wait(lock, [&] { return count < buf.size(); });
        buf[(head + count++) % buf.size()] = v;
        lock.unlock();
        not_empty.notify_one();
        return true;
    }
    bool pop(Item& v) {
        std::unique_lock lock(m);
        not_empty.wait(lock, [&] { return count > 0; });
        v = buf[head];
        head = (head + 1) % buf.size();
        --count;
        lock.unlock();
        not_full.notify_one();
        return true;
    }
    std::mutex m;
    std::condition_variable not_full, not_empty;
    std::vector<Item> buf;
    std::size_t head = 0, count = 0;
};

template <class Q>
concept BatchQueue = requires(Q q, Item* p, const Item* cp) {
    { q.push_n(cp, std::size_t{1}) } -> std::same_as<std::size_t>;
    { q.pop_n(p, std::size_t{1}) } -> std::same_as<std::size_t>;
};

}  // namespace rill::bench
