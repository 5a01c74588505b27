#pragma once
// The graph a Flow builds: one node per stage, each holding the user's stage object as a
// prototype that every replica of every run copies. Nodes know their types; Runtime::start drives
// them through this type-erased interface to create stages, and each node wires its own input
// (wiring.hpp).

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "rill/flow/detail/stages.hpp"
#include "rill/flow/detail/tasks.hpp"
#include "rill/flow/detail/wiring.hpp"
#include "rill/flow/stage_options.hpp"

namespace rill::detail {

/// The key function of a stage that is not keyed.
struct NotKeyed {};

class NodeBase {
  public:
    NodeBase(std::string node_name, StageOptions node_options, std::vector<int> upstream_nodes)
        : name(std::move(node_name)),
          options(std::move(node_options)),
          upstreams(std::move(upstream_nodes)) {}
    NodeBase(const NodeBase&) = delete;
    NodeBase& operator=(const NodeBase&) = delete;
    virtual ~NodeBase() = default;

    /// A new stage object: a copy of the prototype.
    [[nodiscard]] virtual std::unique_ptr<StageBase> instantiate() const = 0;
    [[nodiscard]] virtual bool is_sink() const noexcept { return false; }
    /// Whether the stream it makes can be broadcast (its items can be copied).
    [[nodiscard]] virtual bool copyable_output() const noexcept = 0;
    [[nodiscard]] virtual bool keyed() const noexcept { return false; }
    /// Sources that feed one run only (an inlet, a service) claim it at start: a second start
    /// throws std::logic_error naming the stage. unclaim() gives back a claim whose start failed.
    virtual void claim() const {}
    virtual void unclaim() const noexcept {}
    /// Builds the task of a source, or the tasks and rings feeding the node's replicas from its
    /// upstreams (which are wired already).
    virtual void wire(Wiring& w, int self) const = 0;

    std::string name;
    StageOptions options;
    std::vector<int> upstreams;  // none for a source, several for a merge
    std::vector<int> downstream;
    bool makes_watermarks = false;  // an event_time stage
};

/// A node whose stage object is StageT (derived from StageBase), built from a copy of F.
template <class StageT, class F>
class TypedNode : public NodeBase {
  public:
    TypedNode(std::string node_name, StageOptions node_options, std::vector<int> upstream_nodes,
              F prototype)
        : NodeBase(std::move(node_name), std::move(node_options), std::move(upstream_nodes)),
          prototype_(std::move(prototype)) {}

    [[nodiscard]] std::unique_ptr<StageBase> instantiate() const override {
        return std::make_unique<StageT>(F(prototype_));
    }
    [[nodiscard]] bool is_sink() const noexcept override {
        return !requires {
            typename StageT::output_type;
        };
    }
    /// A stage object that feeds or serves one run only (an inlet, a service, an outlet) has
    /// claim() and unclaim().
    void claim() const override {
        if constexpr (requires(const F& f) { f.claim(); }) prototype_.claim();
    }
    void unclaim() const noexcept override {
        if constexpr (requires(const F& f) { f.unclaim(); }) prototype_.unclaim();
    }
    [[nodiscard]] bool copyable_output() const noexcept override {
        if constexpr (requires { typename StageT::output_type; }) {
            return std::is_copy_constructible_v<typename StageT::output_type>;
        } else {
            return false;
        }
    }

  private:
    F prototype_;
};

template <class T, class S>
class SourceNode final : public TypedNode<SourceStage<T, S>, S> {
  public:
    using TypedNode<SourceStage<T, S>, S>::TypedNode;

    void wire(Wiring& w, int self) const override {
        NodeRun& me = w.run_of(self);
        FlowTask& task =
            w.add_task(std::make_unique<SourceTask>(static_cast<SourceStageBase&>(*me.stages[0])),
                       me.workers[0]);
        task.add_stage(*me.stages[0]);
        me.tasks[0] = &task;
    }
};

/// A node whose stage consumes In from its upstream. Key is the key function of a stage after
/// key_by: its replicas are then dealt items by key.
template <class In, class StageT, class F, class Key = NotKeyed>
class ConsumerNode final : public TypedNode<StageT, F> {
  public:
    ConsumerNode(std::string node_name, StageOptions node_options, int upstream, F prototype,
                 Key key = {})
        : TypedNode<StageT, F>(std::move(node_name), std::move(node_options), {upstream},
                               std::move(prototype)),
          key_(std::move(key)) {}

    [[nodiscard]] bool keyed() const noexcept override { return !std::is_same_v<Key, NotKeyed>; }
    void wire(Wiring& w, int self) const override {
        wire_consumer<In>(w, self, this->upstreams.front(), [&](std::size_t n) -> Router<In>& {
            if constexpr (std::is_same_v<Key, NotKeyed>) {
                return w.add_router(std::make_unique<ChunkRouter<In>>(n, w.batch_of(self),
                                                                      this->options.distribution));
            } else {
                return w.add_router(
                    std::make_unique<KeyRouter<In, Key>>(n, key_, w.state(), this->name));
            }
        });
    }

  private:
    Key key_;
};

/// rill::merge: one stream from several of one item type.
template <class T>
class MergeNode final : public NodeBase {
  public:
    using NodeBase::NodeBase;

    [[nodiscard]] std::unique_ptr<StageBase> instantiate() const override {
        return std::make_unique<MergeStage<T>>();
    }
    [[nodiscard]] bool copyable_output() const noexcept override {
        return std::is_copy_constructible_v<T>;
    }
    void wire(Wiring& w, int self) const override { wire_merge<T>(w, self, upstreams); }
};

struct Graph {
    FlowOptions options;
    std::vector<std::unique_ptr<NodeBase>> nodes;
    bool watermarks = false;  // an event_time stage: every edge carries watermarks
};

}  // namespace rill::detail
