#pragma once
// Flow: builds a typed graph of stages. Each stage returns a Stream<T> of its outputs; a stream
// is consumed by the next stage. Runtime::start(flow) runs it.
//
//   rill::Flow flow;
//   flow.source("gen", rill::iota<std::uint64_t>(1, 1'000'001))
//       .map("double", [](std::uint64_t x) { return 2 * x; })
//       .filter("big", [](std::uint64_t x) { return x > 10; })
//       .sink("sum", [&](std::uint64_t x) { total += x; });
//
// Stage objects carry their own state; each run copies them, once per replica. A stage object may
// have open(StageContext&) and close() members: they run on the stage's worker before its first
// and after its last item, close hooks in reverse topological order. It may also have timers
// (next_timer, on_timer) and a finish(Emitter&) that emits at the end of its input: see
// detail/stage_hooks.hpp.
//
// Parallel shapes: `{.replicas = n}` runs n copies of a stage (`.ordered = true` keeps the input
// order after them); `stream.key_by(f)` sends all items with one key to one replica; a stream
// consumed by several stages gives each of them every item; rill::merge joins streams.

#include <memory>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "rill/flow/detail/event_time_stage.hpp"
#include "rill/flow/detail/graph.hpp"
#include "rill/flow/detail/stage_traits.hpp"
#include "rill/flow/detail/window_stage.hpp"
#include "rill/flow/inlet.hpp"
#include "rill/flow/outlet.hpp"
#include "rill/flow/sources.hpp"
#include "rill/flow/stage_options.hpp"
#include "rill/window/event_time_window.hpp"

namespace rill {

template <class T>
class Stream;
struct ServiceOptions;
template <class Req, class Resp>
struct ServiceEntry;
template <class T, class KeyFn>
class KeyedStream;
template <class R, class T>
class EventTimeWindowStream;
template <class T>
Stream<T> merge(std::string name, const std::vector<Stream<T>>& streams, StageOptions options = {});
template <class T, class... Rest>
Stream<T> merge(std::string name, const Stream<T>& first, const Rest&... rest);

template <class T>
struct InletStream {
    Inlet<T> inlet;
    Stream<T> stream;
};

class Flow {
  public:
    /// Throws std::invalid_argument for an invalid option, naming it.
    explicit Flow(FlowOptions options = {});

    /// A source: a polling source object, a callable returning std::optional<T>, an input range
    /// or rill::iota(first, last). See sources.hpp.
    template <class S>
    auto source(std::string name, S&& source, StageOptions options = {});

    /// A stream fed by application threads through the returned Inlet.
    template <class T>
    [[nodiscard]] InletStream<T> inlet(std::string name, InletOptions inlet_options = {},
                                       StageOptions options = {});

    /// A request/response service: callers' requests enter here; see service.hpp.
    template <class Req, class Resp, class Options = ServiceOptions>
    [[nodiscard]] ServiceEntry<Req, Resp> service(std::string name, Options options = {},
                                                  StageOptions source_options = {});

    [[nodiscard]] const FlowOptions& options() const noexcept { return graph_->options; }
    /// The stages added so far (a merge counts as one; replicas are not separate stages).
    [[nodiscard]] std::size_t stage_count() const noexcept { return graph_->nodes.size(); }

  private:
    friend class Runtime;
    template <class T>
    friend class Stream;
    std::shared_ptr<detail::Graph> graph_;
};

namespace detail {
/// Adds a node; checks the name, the options and the shape. Returns its index.
int add_node(Graph& graph, std::unique_ptr<NodeBase> node);
/// Whether every path from a source to the node's output passes an event_time stage.
[[nodiscard]] bool timestamped(const Graph& graph, int node);
}  // namespace detail

/// The stages that can consume a stream of T. Key is the key function after key_by (then a
/// replicated stage gets each key's items on one replica), detail::NotKeyed otherwise.
template <class T, class Key>
class StreamStages {
  public:
    /// Out(In): one output per input.
    template <class F>
    auto map(std::string name, F f, StageOptions options = {}) {
        if constexpr (!std::is_invocable_v<F&, T&&>) {
            detail::stage_cannot_take<T&&, F>();
            return self();
        } else {
            using Out = std::remove_cvref_t<std::invoke_result_t<F&, T&&>>;
            static_assert(!std::is_void_v<Out>, "rill: a map must return its output; use sink()");
            static_assert(detail::check_item<Out>());
            return add<Out, detail::MapStage<T, Out, F>>(std::move(name), std::move(f), options);
        }
    }

    /// bool(const T&): keeps the items for which it returns true.
    template <class F>
    auto filter(std::string name, F f, StageOptions options = {}) {
        if constexpr (!std::is_invocable_r_v<bool, F&, const T&>) {
            detail::stage_cannot_take<const T&, F>();
            return self();
        } else {
            return add<T, detail::FilterStage<T, F>>(std::move(name), std::move(f), options);
        }
    }

    /// void(T, Emitter<Out>&): any number of outputs per input.
    template <class Out = void, class F>
    auto flat_map(std::string name, F f, StageOptions options = {}) {
        using O = std::conditional_t<std::is_void_v<Out>, detail::emitted_item_t<F>, Out>;
        if constexpr (std::is_void_v<O>) {
            [[maybe_unused]] detail::flat_map_output_unknown<T, F> error;
            return self();
        } else if constexpr (!std::is_invocable_v<F&, T&&, Emitter<O>&>) {
            detail::stage_cannot_take<T&&, F, Emitter<O>&>();
            return self();
        } else {
            static_assert(detail::check_item<O>());
            return add<O, detail::FlatMapStage<T, O, F>>(std::move(name), std::move(f), options);
        }
    }

    /// void(std::span<T>, Emitter<Out>&): the whole input batch at once (up to the stage's
    /// `batch` items), emitting any number of outputs.
    template <class Out = void, class F>
    auto per_batch(std::string name, F f, StageOptions options = {}) {
        using O = std::conditional_t<std::is_void_v<Out>, detail::emitted_item_t<F>, Out>;
        if constexpr (std::is_void_v<O>) {
            [[maybe_unused]] detail::flat_map_output_unknown<T, F> error;
            return self();
        } else if constexpr (!std::is_invocable_v<F&, std::span<T>, Emitter<O>&>) {
            detail::stage_cannot_take<std::span<T>, F, Emitter<O>&>();
            return self();
        } else {
            static_assert(detail::check_item<O>());
            return add<O, detail::PerBatchStage<T, O, F>>(std::move(name), std::move(f), options);
        }
    }

    /// Event time: the stream's items unchanged, and its watermarks made from their timestamps
    /// (timestamp_of(const T&) -> Clock::time_point), in-band from here on: see
    /// rill/time/event_time.hpp. A stage object's on_watermark(Watermark, Emitter&) hook sees
    /// them downstream. Throws std::invalid_argument naming the stage for a bad option.
    template <class TsFn>
    Stream<T> event_time(std::string name, TsFn timestamp_of, EventTimeOptions time = {},
                         StageOptions options = {}) {
        static_assert(std::is_invocable_r_v<Clock::time_point, const TsFn&, const T&>,
                      "rill: event_time needs a function of the stream's item (const T&) that "
                      "returns its Clock::time_point");
        detail::validate_event_time(name, time);
        graph_->watermarks = true;  // every edge of the flow carries watermarks
        const int node = add_consumer<detail::EventTimeStage<T, TsFn>>(
            std::move(name), detail::WatermarkGenerator<T, TsFn>{std::move(timestamp_of), time},
            options);
        graph_->nodes[static_cast<std::size_t>(node)]->makes_watermarks = true;
        return Stream<T>(*graph_, node);
    }

    /// Groups the stream into windows (per key after key_by) and emits one
    /// rill::Windowed{key, start, end, value} per window and key, value being the aggregation's
    /// result: count_window(size[, slide]), tumbling_window(size), sliding_window(size, slide)
    /// or session_window(gap) on processing time (window_spec.hpp), or one of the time windows
    /// on event time, by_event_time(...) (event_time_window.hpp; the stream needs an event_time
    /// stage upstream, and the result has late_items()); an aggregation from rill::agg or your
    /// own (aggregation.hpp). Throws std::invalid_argument naming the stage for a bad spec, for
    /// replicas without key_by (a window needs all items of a key in one place, in order), and
    /// for an event-time window on a stream without watermarks.
    template <class Spec, class A>
    auto window(std::string name, const Spec& spec, A aggregation, StageOptions options = {}) {
        static_assert(Aggregation<A, T>,
                      "rill: a window's aggregation needs accumulator, init(), add(acc, item), "
                      "merge(older, newer) and result(acc) for the stream's items (see "
                      "rill/window/aggregation.hpp)");
        detail::validate_window(name, spec);
        if constexpr (std::is_same_v<Spec, CountWindow> && detail::keeps_whole_windows<A>) {
            if (spec.slide != 0 && spec.slide != spec.size) {
                detail::invalid_stage(name,
                                      "a whole-window function on a sliding count window ("
                                      "size " +
                                          std::to_string(spec.size) + ", slide " +
                                          std::to_string(spec.slide) +
                                          ") would copy a window per item; use a tumbling "
                                          "count window, a time window, or an incremental "
                                          "aggregation");
            }
        }
        constexpr bool keyed = !std::is_same_v<Key, detail::NotKeyed>;
        if (!keyed && options.replicas > 1) {
            detail::invalid_stage(name, "a window on " + std::to_string(options.replicas) +
                                            " replicas needs key_by before it: each window "
                                            "must see all of its items, in order");
        }
        auto key_fn = [&] {
            if constexpr (keyed) {
                return key_;
            } else {
                return detail::NoKeyFn{};
            }
        }();
        using Op = typename detail::window_op<Spec, T, A, decltype(key_fn)>::type;
        using Out = typename Op::output_type;
        if constexpr (detail::is_event_time_window<Spec>) {
            static_assert(std::is_move_constructible_v<T>,
                          "rill: an event-time window moves late items to late_items()");
            if (!detail::timestamped(*graph_, node_)) {
                detail::invalid_stage(name,
                                      "an event-time window needs the stream's watermarks: "
                                      "add stream.event_time(...) upstream (on every input "
                                      "of a merge)");
            }
            auto late = std::make_shared<detail::LateOutput<T>>(name, options.replicas);
            const int node = add_consumer<detail::WindowStage<T, Op>>(
                std::move(name), Op(spec, std::move(aggregation), std::move(key_fn), late),
                options);
            return EventTimeWindowStream<Out, T>(*graph_, node, std::move(late));
        } else {
            return add<Out, detail::WindowStage<T, Op>>(
                std::move(name), Op(spec, std::move(aggregation), std::move(key_fn)), options);
        }
    }

    /// void(T), the end of the stream; or void(std::span<T>), which takes each input batch at
    /// once (an exception then fails the whole batch).
    template <class F>
    void sink(std::string name, F f, StageOptions options = {}) {
        if constexpr (std::is_invocable_v<F&, T&&>) {
            add_consumer<detail::SinkStage<T, F>>(std::move(name), std::move(f), options);
        } else if constexpr (std::is_invocable_v<F&, std::span<T>>) {
            add_consumer<detail::BatchSinkStage<T, F>>(std::move(name), std::move(f), options);
        } else {
            detail::stage_cannot_take<T&&, F>();
        }
    }

    /// The end of the stream, read by application threads through the returned Outlet (see
    /// outlet.hpp). Its stage is named `name`; `options` place it like any stage.
    [[nodiscard]] Outlet<T> outlet(std::string name, OutletOptions outlet_options = {},
                                   StageOptions options = {}) {
        detail::validate_outlet_options(name, outlet_options);
        auto queue = std::make_shared<detail::OutletQueue<T>>(name, outlet_options);
        add_consumer<detail::OutletStage<T>>(std::move(name), detail::OutletTarget<T>{queue},
                                             options);
        return Outlet<T>(std::move(queue));
    }

  protected:
    StreamStages(detail::Graph& graph, int node, Key key = {})
        : graph_(&graph), node_(node), key_(std::move(key)) {}

    template <class StageT, class F>
    int add_consumer(std::string name, F f, const StageOptions& options) {
        return detail::add_node(*graph_, std::make_unique<detail::ConsumerNode<T, StageT, F, Key>>(
                                             std::move(name), options, node_, std::move(f), key_));
    }
    template <class Out, class StageT, class F>
    Stream<Out> add(std::string name, F f, const StageOptions& options) {
        return Stream<Out>(*graph_, add_consumer<StageT>(std::move(name), std::move(f), options));
    }
    /// A stage whose callable does not fit: the error is the compile error; this keeps the
    /// expression well-formed so that only that error shows.
    auto self() const noexcept { return Stream<T>(*graph_, node_); }

    detail::Graph* graph_;
    int node_;
    Key key_;
};

/// The stream of items of type T a stage makes. Copies refer to the same stream: consuming it
/// from several stages broadcasts (each gets every item; T must be copyable).
template <class T>
class Stream : public StreamStages<T, detail::NotKeyed> {
  public:
    /// Partitions the stream by key_fn(const T&): the next stage's replicas each get all the
    /// items of their keys, in order, so per-key state needs no lock (see rill::KeyedState).
    template <class KeyFn>
    [[nodiscard]] KeyedStream<T, KeyFn> key_by(KeyFn key_fn) const {
        static_assert(std::is_invocable_v<const KeyFn&, const T&>,
                      "rill: key_by needs a function of the stream's item (const T&)");
        using K = std::remove_cvref_t<std::invoke_result_t<const KeyFn&, const T&>>;
        static_assert(!std::is_void_v<K>, "rill: a key function must return the key");
        return KeyedStream<T, KeyFn>(*this->graph_, this->node_, std::move(key_fn));
    }

  private:
    friend class Flow;
    template <class, class>
    friend class StreamStages;
    template <class U, class... Rest>
    friend Stream<U> merge(std::string name, const Stream<U>& first, const Rest&... rest);
    template <class U>
    friend Stream<U> merge(std::string name, const std::vector<Stream<U>>& streams,
                           StageOptions options);
    template <class, class>
    friend class EventTimeWindowStream;
    Stream(detail::Graph& graph, int node) noexcept
        : StreamStages<T, detail::NotKeyed>(graph, node) {}
};

/// The results of a window on event time, a Stream<R>, and the items too late for it.
template <class R, class T>
class EventTimeWindowStream : public Stream<R> {
  public:
    /// A stream of the items that came later than allowed_lateness (see event_time_window.hpp),
    /// a source named `name` fed by the window stage, ending when the window's input ends. It
    /// holds up to side.capacity items; a late item that finds it full is counted in the window
    /// stage's `late` only. Throws std::logic_error when called twice.
    [[nodiscard]] Stream<T> late_items(std::string name, InletOptions side = {},
                                       StageOptions options = {}) const {
        detail::validate_inlet_options(name, side);
        if (late_->connected()) late_->connect(nullptr);  // throws: called twice
        auto queue = std::make_shared<detail::InletQueue<T>>(name, side);
        options.poll_interval = std::chrono::microseconds{0};  // pushes wake the source
        const int node = detail::add_node(
            *this->graph_,
            std::make_unique<detail::SourceNode<T, detail::LatePoller<T>>>(
                std::move(name), options, std::vector<int>{}, detail::LatePoller<T>(queue)));
        late_->connect(std::move(queue));  // only once the source is in the flow
        return Stream<T>(*this->graph_, node);
    }

  private:
    template <class, class>
    friend class StreamStages;
    EventTimeWindowStream(detail::Graph& graph, int node,
                          std::shared_ptr<detail::LateOutput<T>> late)
        : Stream<R>(graph, node), late_(std::move(late)) {}
    std::shared_ptr<detail::LateOutput<T>> late_;
};

/// A stream partitioned by key: see Stream::key_by.
template <class T, class KeyFn>
class KeyedStream : public StreamStages<T, KeyFn> {
  private:
    template <class>
    friend class Stream;
    KeyedStream(detail::Graph& graph, int node, KeyFn key)
        : StreamStages<T, KeyFn>(graph, node, std::move(key)) {}
};

/// One stream from several streams of one item type and one flow. Items of one input keep their
/// order; across inputs the interleaving is arbitrary. Throws std::invalid_argument for fewer
/// than two streams or streams of different flows.
template <class T>
Stream<T> merge(std::string name, const std::vector<Stream<T>>& streams, StageOptions options) {
    if (streams.size() < 2) {
        throw std::invalid_argument("rill::merge '" + name +
                                    "': " + std::to_string(streams.size()) +
                                    " streams given; a merge joins two or more");
    }
    std::vector<int> upstreams;
    for (const Stream<T>& s : streams) {
        if (s.graph_ != streams.front().graph_) {
            throw std::invalid_argument("rill::merge '" + name +
                                        "': the streams belong to different flows");
        }
        upstreams.push_back(s.node_);
    }
    detail::Graph& graph = *streams.front().graph_;
    return Stream<T>(graph, detail::add_node(graph, std::make_unique<detail::MergeNode<T>>(
                                                        std::move(name), options, upstreams)));
}
template <class T, class... Rest>
Stream<T> merge(std::string name, const Stream<T>& first, const Rest&... rest) {
    static_assert((std::is_same_v<Rest, Stream<T>> && ...),
                  "rill::merge: every stream must carry the same item type");
    return merge(std::move(name), std::vector<Stream<T>>{first, rest...});
}

template <class S>
auto Flow::source(std::string name, S&& source, StageOptions options) {
    using D = std::remove_cvref_t<S>;
    if constexpr (PollingSource<D>) {
        using T = typename D::value_type;
        static_assert(detail::check_item<T>());
        const int node = detail::add_node(
            *graph_, std::make_unique<detail::SourceNode<T, D>>(
                         std::move(name), options, std::vector<int>{}, D(std::forward<S>(source))));
        return Stream<T>(*graph_, node);
    } else if constexpr (OptionalSource<D>) {
        return this->source(std::move(name), detail::OptionalPoller<D>(std::forward<S>(source)),
                            options);
    } else if constexpr (std::ranges::input_range<D>) {
        // An lvalue range is referenced, an rvalue one owned (see from_range).
        return this->source(std::move(name), from_range(std::forward<S>(source)), options);
    } else {
        static_assert(detail::dependent_false<D>,
                      "rill: a source is a polling source (value_type and poll(Emitter&, max)), "
                      "a callable returning std::optional<T>, an input range or rill::iota");
    }
}

template <class T>
InletStream<T> Flow::inlet(std::string name, InletOptions inlet_options, StageOptions options) {
    detail::validate_inlet_options(name, inlet_options);
    auto queue = std::make_shared<detail::InletQueue<T>>(name, inlet_options);
    options.poll_interval = std::chrono::microseconds{0};  // pushes wake the source
    Stream<T> stream = source(std::move(name), detail::InletPoller<T>(queue), options);
    return InletStream<T>{Inlet<T>(std::move(queue)), stream};
}

}  // namespace rill
