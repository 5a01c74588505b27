#pragma once
// The two peer designs of a linear pipeline, generic over its stages, shared by bench_pipeline
// (peers.hpp: the seed's workload) and rill-perf-report (--peers, on each of its workloads):
//   tbb_pipeline   tbb::parallel_pipeline as TBB users write it: a serial in-order source, the
//                  maps as parallel filters, a serial out-of-order sink, one item per call
//   channel_chain  a thread per stage linked by bounded mutex + condition-variable channels
//                  with Go's semantics: the seed's Go design in C++
// A pipeline is a source (a callable returning std::optional<T>, std::nullopt at the end), any
// number of maps (T -> U) and a sink (void(T)). Neither design pins its threads.

#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace rill::bench {

namespace peer_detail {

template <class Source>
using source_item_t = typename std::invoke_result_t<Source&>::value_type;

template <class In, class Sink>
auto tbb_tail(Sink& sink) {
    // Serial but out of order: the sinks here only add up, so need not restore the source's order.
    return tbb::make_filter<In, void>(tbb::filter_mode::serial_out_of_order,
                                      [&sink](In x) { sink(std::move(x)); });
}

template <class In, class Sink, class Map, class... Maps>
auto tbb_tail(Sink& sink, Map& map, Maps&... maps) {
    using Out = std::remove_cvref_t<std::invoke_result_t<Map&, In&&>>;
    return tbb::make_filter<In, Out>(tbb::filter_mode::parallel,
                                     [&map](In x) { return map(std::move(x)); }) &
           tbb_tail<Out>(sink, maps...);
}

}  // namespace peer_detail

/// Runs the pipeline in `arena` with at most `tokens` items in flight.
template <class Source, class Sink, class... Maps>
void tbb_pipeline(tbb::task_arena& arena, std::size_t tokens, Source source, Sink sink,
                  Maps... maps) {
    using T = peer_detail::source_item_t<Source>;
    arena.execute([&] {
        tbb::parallel_pipeline(tokens, tbb::make_filter<void, T>(tbb::filter_mode::serial_in_order,
                                                                 [&](tbb::flow_control& fc) -> T {
                                                                     std::optional<T> x = source();
                                                                     if (!x) {
                                                                         fc.stop();
                                                                         return T{};
                                                                     }
                                                                     return std::move(*x);
                                                                 }) &
                                           peer_detail::tbb_tail<T>(sink, maps...));
    });
}

/// A bounded channel with Go's semantics: send blocks while full, receive blocks while empty, and
/// after close() receivers drain what is left and then get nullopt. Sending on a closed channel
/// throws, where Go panics. Capacity must be at least 1 (Go's unbuffered channel is not modelled).
template <class T>
class Channel {
  public:
    explicit Channel(std::size_t capacity) : buf_(capacity) {
        if (capacity == 0) throw std::invalid_argument("Channel capacity must be at least 1");
    }

    void send(T v) {
        std::unique_lock lock(m_);
        not_full_.wait(lock, [&] { return count_ < buf_.size() || closed_; });
        if (closed_) throw std::logic_error("send on closed channel");
        buf_[tail_] = std::move(v);
        if (++tail_ == buf_.size()) tail_ = 0;
        ++count_;
        lock.unlock();
        not_empty_.notify_one();
    }

    std::optional<T> receive() {
        std::unique_lock lock(m_);
        not_empty_.wait(lock, [&] { return count_ > 0 || closed_; });
        if (count_ == 0) return std::nullopt;
        std::optional<T> v(std::move(buf_[head_]));
        if (++head_ == buf_.size()) head_ = 0;
        --count_;
        lock.unlock();
        not_full_.notify_one();
        return v;
    }

    void close() {
        {
            std::lock_guard lock(m_);
            closed_ = true;
        }
        not_empty_.notify_all();
        not_full_.notify_all();
    }

  private:
    std::mutex m_;
    std::condition_variable not_full_, not_empty_;
    std::vector<T> buf_;
    std::size_t head_ = 0, tail_ = 0, count_ = 0;
    bool closed_ = false;
};

namespace peer_detail {

template <class In, class Sink>
void channel_rest(Channel<In>& in, std::size_t, Sink& sink) {
    while (std::optional<In> x = in.receive())
        sink(std::move(*x));
}

/// Starts the thread of the first map, then links the rest; the sink runs on the calling thread.
template <class In, class Sink, class Map, class... Maps>
void channel_rest(Channel<In>& in, std::size_t capacity, Sink& sink, Map& map, Maps&... maps) {
    using Out = std::remove_cvref_t<std::invoke_result_t<Map&, In&&>>;
    Channel<Out> out(capacity);
    std::jthread stage([&] {
        while (std::optional<In> x = in.receive())
            out.send(map(std::move(*x)));
        out.close();
    });
    channel_rest(out, capacity, sink, maps...);
}

}  // namespace peer_detail

/// Runs the source and each map on a thread of its own and the sink on the calling thread, with a
/// channel of `capacity` between each pair.
template <class Source, class Sink, class... Maps>
void channel_chain(std::size_t capacity, Source source, Sink sink, Maps... maps) {
    using T = peer_detail::source_item_t<Source>;
    Channel<T> first(capacity);
    std::jthread producer([&] {
        while (std::optional<T> x = source())
            first.send(std::move(*x));
        first.close();
    });
    peer_detail::channel_rest(first, capacity, sink, maps...);
}

}  // namespace rill::bench
