// Pool benchmarks: take and return a 1 KiB buffer, with rill::ObjectPool against glibc
// new/delete, mimalloc mi_malloc/mi_free, this binary's operator new/delete and a
// mutex-protected free list.
//
// "glibc new/delete" calls glibc's allocator by its own names (__libc_malloc, __libc_free) and
// constructs and destroys the Buffer in place, which is what libstdc++'s operator new and delete
// do over glibc's malloc. It cannot simply call `new`: this binary links rill::mimalloc (its
// mi_malloc rows need mimalloc), and libmimalloc.so defines malloc, free and operator new, so
// dynamic linking makes them mimalloc's for the whole process. "operator new/delete" measures
// whatever serves `new` in this binary; the summary says which.
//   same-thread   one thread takes a buffer, writes it, returns it
//   cross-thread  a producer takes and writes buffers and passes them, 64 at a time, through an
//                 SpscRing to a consumer on the other CPU, which reads and returns them (the
//                 pipeline pattern)
// The ObjectPool rows run the default options, in both forms of the per-thread caches
// (asymmetric, and locked as under TSan); POOL_CACHE_ITEMS=N in the environment overrides
// PoolOptions::cache_items for experiments. Repetitions, pinning and the summary as in
// bench_ring.
//
//   bench_pool [--reps=N] [--quick] [google benchmark flags]

#include <benchmark/benchmark.h>
#include <mimalloc.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "common/bench_main.hpp"
#include "common/team.hpp"
#include "rill/pool/object_pool.hpp"
#include "rill/ring/spsc_ring.hpp"

namespace rill::bench {
namespace {

struct Buffer {
    std::array<std::uint64_t, 128> words{};  // 1 KiB
};

constexpr std::size_t kPoolCapacity = 1024;
constexpr std::uint64_t kItemsPerRound = 1 << 16;

// Each source hands out a Handle to a Buffer and takes it back, on any thread.

/// The pool's options: the defaults, except for POOL_CACHE_ITEMS (see the top of the file).
PoolOptions rill_options() {
    PoolOptions o{.capacity = kPoolCapacity};
    if (const char* env = std::getenv("POOL_CACHE_ITEMS"))
        o.cache_items = static_cast<std::uint32_t>(std::atoi(env));
    return o;
}

struct RillPool {
    static constexpr const char* name = "rill::ObjectPool";
    using Handle = Pooled<Buffer>;
    ObjectPool<Buffer> pool{rill_options()};
    Handle take() { return pool.acquire(WaitPolicy::spin_yield(256)); }
    static Buffer& get(Handle& h) { return *h; }
    void give(Handle& h) { h.reset(); }
};

/// The same pool with the locked form of its caches (every take and return of an owner locks
/// its cache with an exchange), which is what TSan builds and kernels without membarrier get.
struct RillPoolLocked {
    static constexpr const char* name = "rill::ObjectPool, locked caches";
    using Handle = Pooled<Buffer>;
    static ObjectPool<Buffer>* make() {
        detail::force_locked_pool_caches(true);
        auto* p = new ObjectPool<Buffer>(rill_options());
        detail::force_locked_pool_caches(false);
        return p;
    }
    std::unique_ptr<ObjectPool<Buffer>> pool{make()};
    Handle take() { return pool->acquire(WaitPolicy::spin_yield(256)); }
    static Buffer& get(Handle& h) { return *h; }
    void give(Handle& h) { h.reset(); }
};

}  // namespace
}  // namespace rill::bench

extern "C" void* __libc_malloc(std::size_t size);  // glibc's own malloc and free, which
extern "C" void __libc_free(void* p);              // interposition does not replace

namespace rill::bench {
namespace {

struct GlibcNew {
    static constexpr const char* name = "glibc new/delete";
    using Handle = Buffer*;
    Handle take() {
        void* p = __libc_malloc(sizeof(Buffer));
        if (p == nullptr) throw std::bad_alloc();
        return ::new (p) Buffer;  // as `new Buffer`: zeroes the words
    }
    static Buffer& get(Handle& h) { return *h; }
    void give(Handle& h) {
        h->~Buffer();
        __libc_free(h);
    }
};

struct OperatorNew {
    static constexpr const char* name = "operator new/delete";
    using Handle = Buffer*;
    Handle take() { return new Buffer; }
    static Buffer& get(Handle& h) { return *h; }
    void give(Handle& h) { delete h; }
};

struct Mimalloc {
    static constexpr const char* name = "mimalloc mi_malloc/mi_free";
    using Handle = Buffer*;
    Handle take() { return static_cast<Buffer*>(mi_malloc(sizeof(Buffer))); }
    static Buffer& get(Handle& h) { return *h; }
    void give(Handle& h) { mi_free(h); }
};

/// The classic shared free list: a vector of preallocated buffers under one mutex.
struct MutexFreeList {
    static constexpr const char* name = "mutex free list";
    using Handle = Buffer*;
    MutexFreeList() : storage(kPoolCapacity) {
        for (Buffer& b : storage)
            free.push_back(&b);
    }
    Handle take() {
        for (;;) {
            {
                std::lock_guard lock(m);
                if (!free.empty()) {
                    Buffer* b = free.back();
                    free.pop_back();
                    return b;
                }
            }
            std::this_thread::yield();  // empty: the consumer still holds them all
        }
    }
    static Buffer& get(Handle& h) { return *h; }
    void give(Handle& h) {
        std::lock_guard lock(m);
        free.push_back(h);
    }
    std::vector<Buffer> storage;
    std::vector<Buffer*> free;
    std::mutex m;
};

template <class Source>
void same_thread(benchmark::State& state) {
    Source source;
    std::uint64_t sum = 0, n = 0;
    for (auto _ : state) {
        for (std::uint64_t i = 0; i < kItemsPerRound; ++i, ++n) {
            typename Source::Handle h = source.take();
            Source::get(h).words[n % 128] = n;
            sum += Source::get(h).words[n % 128];
            source.give(h);
        }
    }
    if (sum != n * (n - 1) / 2) {
        mismatch("checksum " + std::to_string(sum) + ", expected " +
                 std::to_string(n * (n - 1) / 2));
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(n));
}

template <class Source>
void cross_thread(benchmark::State& state) {
    // Handles travel in batches, as between rill stages, so that the ring's own cost is small
    // next to taking, writing, reading and returning the buffers.
    constexpr std::size_t kBatch = 64;
    using Handle = typename Source::Handle;
    Source source;
    SpscRing<Handle> ring(256);
    const Spin spin(false);
    std::uint64_t consumed_sum = 0;
    std::uint64_t next = 0;
    Team team({[&] {
        std::array<Handle, kBatch> batch{};
        for (std::uint64_t got = 0; got < kItemsPerRound;) {
            const std::size_t k = ring.try_pop_n(batch.begin(), kBatch);
            if (k == 0) spin();
            for (std::size_t j = 0; j < k; ++j) {
                consumed_sum += Source::get(batch[j]).words[0];
                source.give(batch[j]);
            }
            got += k;
        }
    }});
    for (auto _ : state) {
        team.round([&] {
            std::array<Handle, kBatch> batch{};
            for (std::uint64_t i = 0; i < kItemsPerRound; i += kBatch) {
                for (std::size_t j = 0; j < kBatch; ++j) {
                    batch[j] = source.take();
                    Source::get(batch[j]).words[0] = next + i + j;
                }
                for (std::size_t done = 0; done < kBatch;) {
                    const std::size_t k = ring.try_push_n(
                        std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(done)),
                        kBatch - done);
                    if (k == 0) spin();
                    done += k;
                }
            }
        });
        next += kItemsPerRound;
    }
    if (consumed_sum != next * (next - 1) / 2) {
        mismatch("checksum " + std::to_string(consumed_sum) + ", expected " +
                 std::to_string(next * (next - 1) / 2));
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(next));
}

template <class Source>
void add_source(const Settings& s) {
    add(std::string("pool/same-thread/") + Source::name, s, same_thread<Source>);
    add(std::string("pool/cross-thread/") + Source::name, s, cross_thread<Source>);
}

void print_summary(const std::map<std::string, Stat>& stats, const Settings& s) {
    print_table("Pool benchmark summary", stats, s);
    auto median = [&](const std::string& name) {
        const auto it = stats.find(name);
        return it == stats.end() ? 0.0 : it->second.median;
    };
    const double pool = median("pool/cross-thread/rill::ObjectPool");
    const double glibc = median("pool/cross-thread/glibc new/delete");
    const double mi = median("pool/cross-thread/mimalloc mi_malloc/mi_free");
    const double op_new = median("pool/cross-thread/operator new/delete");
    {
        const detail::PoolCore probe({.capacity = 1});
        std::printf("\nObjectPool caches in this process: %s\n",
                    probe.asymmetric() ? "asymmetric (owners use no locked instruction; thieves "
                                         "call membarrier)"
                                       : "locked (membarrier unavailable)");
    }
    {
        // Which allocator serves operator new here (rill::mimalloc replaces glibc's).
        auto* probe = new Buffer;
        std::printf("\noperator new in this binary: %s\n",
                    mi_is_in_heap_region(probe)
                        ? "mimalloc (rill::mimalloc makes it the process's allocator)"
                        : "glibc");
        delete probe;
    }
    std::printf("\nTargets (ratios of medians from this run):\n");
    if (pool > 0 && glibc > 0) {
        std::printf("- cross-thread ObjectPool vs glibc new/delete: %.2fx (target >= 2x) %s\n",
                    pool / glibc, verdict(pool >= 2 * glibc));
    }
    if (pool > 0 && mi > 0) {
        std::printf("- cross-thread ObjectPool vs mimalloc: %.2fx (target >= 1x) %s\n", pool / mi,
                    verdict(pool >= mi));
    }
    if (pool > 0 && op_new > 0) {
        std::printf(
            "- cross-thread ObjectPool vs this binary's operator new/delete: %.2fx (no target)\n",
            pool / op_new);
    }
}

}  // namespace
}  // namespace rill::bench

int main(int argc, char** argv) {
    using namespace rill::bench;
    return bench_main(
        "bench_pool", argc, argv,
        [](const Settings& s) {
            add_source<RillPool>(s);
            add_source<RillPoolLocked>(s);
            add_source<GlibcNew>(s);
            add_source<OperatorNew>(s);
            add_source<Mimalloc>(s);
            add_source<MutexFreeList>(s);
        },
        print_summary);
}
