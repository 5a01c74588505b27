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
// Stage objects carry their own state; each run copies them. A stage object may have
// open(StageContext&) and close() members: they run on the stage's worker before its first and
// after its last item, close hooks in reverse topological order.

#include <memory>
#include <ranges>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "rill/flow/detail/graph.hpp"
#include "rill/flow/detail/stage_traits.hpp"
#include "rill/flow/inlet.hpp"
#include "rill/flow/sources.hpp"
#include "rill/flow/stage_options.hpp"

namespace rill {

template <class T>
class Stream;

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

    [[nodiscard]] const FlowOptions& options() const noexcept { return graph_->options; }
    [[nodiscard]] const detail::Graph& graph() const noexcept { return *graph_; }

  private:
    template <class T>
    friend class Stream;
    std::shared_ptr<detail::Graph> graph_;
};

namespace detail {
/// Adds a node; checks the name and options. Returns its index.
int add_node(Graph& graph, std::unique_ptr<NodeBase> node);
}  // namespace detail

template <class T>
class Stream {
  public:
    /// Out(In): one output per input.
    template <class F>
    auto map(std::string name, F f, StageOptions options = {}) {
        if constexpr (!std::is_invocable_v<F&, T&&>) {
            [[maybe_unused]] detail::stage_input_mismatch<T, detail::first_parameter_t<F>> error;
            return *this;
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
            [[maybe_unused]] detail::stage_input_mismatch<T, detail::first_parameter_t<F>> error;
            return *this;
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
            return *this;
        } else if constexpr (!std::is_invocable_v<F&, T&&, Emitter<O>&>) {
            [[maybe_unused]] detail::stage_input_mismatch<T, detail::first_parameter_t<F>> error;
            return *this;
        } else {
            static_assert(detail::check_item<O>());
            return add<O, detail::FlatMapStage<T, O, F>>(std::move(name), std::move(f), options);
        }
    }

    /// void(std::span<T>, Emitter<Out>&): the whole input batch at once.
    template <class Out = void, class F>
    auto batch(std::string name, F f, StageOptions options = {}) {
        using O = std::conditional_t<std::is_void_v<Out>, detail::emitted_item_t<F>, Out>;
        if constexpr (std::is_void_v<O>) {
            [[maybe_unused]] detail::flat_map_output_unknown<T, F> error;
            return *this;
        } else if constexpr (!std::is_invocable_v<F&, std::span<T>, Emitter<O>&>) {
            [[maybe_unused]] detail::stage_input_mismatch<std::span<T>,
                                                          detail::first_parameter_t<F>>
                error;
            return *this;
        } else {
            static_assert(detail::check_item<O>());
            return add<O, detail::BatchStage<T, O, F>>(std::move(name), std::move(f), options);
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
            [[maybe_unused]] detail::stage_input_mismatch<T, detail::first_parameter_t<F>> error;
        }
    }

  private:
    friend class Flow;
    template <class>
    friend class Stream;
    Stream(detail::Graph& graph, int node) noexcept : graph_(&graph), node_(node) {}

    template <class StageT, class F>
    int add_consumer(std::string name, F f, const StageOptions& options) {
        return detail::add_node(*graph_, std::make_unique<detail::ConsumerNode<T, StageT, F>>(
                                             std::move(name), options, node_, std::move(f)));
    }
    template <class Out, class StageT, class F>
    Stream<Out> add(std::string name, F f, const StageOptions& options) {
        return Stream<Out>(*graph_, add_consumer<StageT>(std::move(name), std::move(f), options));
    }

    detail::Graph* graph_;
    int node_;
};

template <class S>
auto Flow::source(std::string name, S&& source, StageOptions options) {
    using D = std::remove_cvref_t<S>;
    if constexpr (PollingSource<D>) {
        using T = typename D::value_type;
        static_assert(detail::check_item<T>());
        const int node = detail::add_node(
            *graph_, std::make_unique<detail::SourceNode<T, D>>(std::move(name), options, -1,
                                                                D(std::forward<S>(source))));
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
