#pragma once
// The graph a Flow builds: one node per stage, each holding the user's stage object as a
// prototype that every run copies. Nodes know their types; Runtime::start drives them through
// this type-erased interface to create stages, rings and tasks.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rill/flow/detail/stages.hpp"
#include "rill/flow/detail/tasks.hpp"
#include "rill/flow/stage_options.hpp"

namespace rill::detail {

class NodeBase {
  public:
    NodeBase(std::string node_name, StageOptions node_options, int upstream_node)
        : name(std::move(node_name)), options(std::move(node_options)), upstream(upstream_node) {}
    NodeBase(const NodeBase&) = delete;
    NodeBase& operator=(const NodeBase&) = delete;
    virtual ~NodeBase() = default;

    [[nodiscard]] virtual std::unique_ptr<StageBase> instantiate() const = 0;
    [[nodiscard]] virtual bool is_sink() const noexcept { return false; }
    /// Sources only: the task that runs `self`.
    [[nodiscard]] virtual std::unique_ptr<FlowTask> source_task(StageBase& self) const {
        static_cast<void>(self);
        return nullptr;
    }
    /// Non-sources with an upstream: `self` runs in the upstream's task, called directly.
    virtual void chain(StageBase& up, StageBase& self) const = 0;
    /// Non-sources: a ring from `up` to a new task headed by `self`.
    [[nodiscard]] virtual std::unique_ptr<FlowTask> ring_task(StageBase& up, StageBase& self,
                                                              std::unique_ptr<EdgeBase>& edge,
                                                              std::size_t capacity) const = 0;
    /// The emitter of this node's stage, when it has one.
    [[nodiscard]] virtual EmitterControl* emitter(StageBase& self) const noexcept = 0;

    std::string name;
    StageOptions options;
    int upstream;  // -1 for a source
    std::vector<int> downstream;
};

/// A node whose stage object is StageT (derived from StageBase), built from a copy of F.
template <class StageT, class F>
class TypedNode : public NodeBase {
  public:
    TypedNode(std::string node_name, StageOptions node_options, int upstream_node, F prototype)
        : NodeBase(std::move(node_name), std::move(node_options), upstream_node),
          prototype_(std::move(prototype)) {}

    [[nodiscard]] std::unique_ptr<StageBase> instantiate() const override {
        return std::make_unique<StageT>(F(prototype_));
    }
    [[nodiscard]] EmitterControl* emitter(StageBase& self) const noexcept override {
        if constexpr (requires(StageT & s) { s.out; }) {
            return &static_cast<StageT&>(self).out;
        } else {
            return nullptr;
        }
    }

  private:
    F prototype_;
};

template <class T, class S>
class SourceNode final : public TypedNode<SourceStage<T, S>, S> {
  public:
    using TypedNode<SourceStage<T, S>, S>::TypedNode;

    [[nodiscard]] std::unique_ptr<FlowTask> source_task(StageBase& self) const override {
        return std::make_unique<SourceTask>(static_cast<SourceStageBase&>(self));
    }
    void chain(StageBase&, StageBase&) const override {}
    [[nodiscard]] std::unique_ptr<FlowTask> ring_task(StageBase&, StageBase&,
                                                      std::unique_ptr<EdgeBase>&,
                                                      std::size_t) const override {
        return nullptr;
    }
};

/// A node whose stage consumes In from its upstream's Producer<In>.
template <class In, class StageT, class F>
class ConsumerNode final : public TypedNode<StageT, F> {
  public:
    using TypedNode<StageT, F>::TypedNode;

    [[nodiscard]] bool is_sink() const noexcept override {
        return !requires(StageT & s) {
            s.out;
        };
    }
    void chain(StageBase& up, StageBase& self) const override {
        EmitterBinding<In>::chain(producer(up).out, static_cast<StageT&>(self), up.batch);
    }
    [[nodiscard]] std::unique_ptr<FlowTask> ring_task(StageBase& up, StageBase& self,
                                                      std::unique_ptr<EdgeBase>& edge,
                                                      std::size_t capacity) const override {
        auto typed = std::make_unique<Edge<In>>(capacity);
        EmitterBinding<In>::ring(producer(up).out, *typed, up.batch);
        self.input = typed.get();
        auto task = std::make_unique<RingTask<In>>(*typed, self, static_cast<StageT&>(self));
        edge = std::move(typed);
        return task;
    }

  private:
    static Producer<In>& producer(StageBase& up) { return dynamic_cast<Producer<In>&>(up); }
};

struct Graph {
    FlowOptions options;
    std::vector<std::unique_ptr<NodeBase>> nodes;
};

}  // namespace rill::detail
