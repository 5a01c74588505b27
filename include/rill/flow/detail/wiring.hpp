#pragma once
// Wiring: how Runtime::start turns the graph into stages, rings and tasks. Each node wires its
// own input (its upstreams are wired before it); the templates here know the item type.
//
// A stream leaves its node at an outlet: the emitter of the node's stage, or, for a replicated
// node, of a hidden `name.merge` stage heading a fan-in over the replicas' rings. Exception: the
// replicas of a node with one consumer that has one replica feed that consumer's fan-in
// directly. A stream with several consumers gets a BroadcastRouter at its outlet, one branch per
// consumer. A consumer with one replica is chained to its outlet when both are on one worker (and
// chaining is allowed), and reads a ring otherwise; a replicated consumer gets a router chained
// at the outlet, dealing to one ring per replica.

#include <bit>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "rill/flow/detail/fan_in_task.hpp"
#include "rill/flow/detail/router.hpp"
#include "rill/flow/detail/stages.hpp"
#include "rill/flow/detail/tasks.hpp"

namespace rill::detail {

class NodeBase;
struct Graph;

/// What Runtime::start has built for one node.
struct NodeRun {
    std::vector<StageBase*> stages;  // one per replica
    std::vector<FlowTask*> tasks;    // the task that runs each replica
    std::vector<unsigned> workers;   // each replica's worker
    // The outlet, once a consumer asked for it.
    EmitterControl* outlet = nullptr;  // an Emitter<Out>
    FlowTask* outlet_task = nullptr;
    std::size_t outlet_batch = 0;
    unsigned outlet_worker = 0;
    RouterBase* broadcast = nullptr;  // a BroadcastRouter<Out>, with several consumers
    std::size_t branches_taken = 0;
};

template <class T>
struct Outlet {
    Emitter<T>* emitter;
    FlowTask* task;
    std::size_t batch;  // the producing stage's: the chained buffer's size, the ring claim's
    unsigned worker;
};

class Wiring {
  public:
    Wiring(const Graph& graph, RunState& state, std::vector<EventCount*> wake_handles,
           std::vector<std::shared_ptr<EventCount>> wake_owners);

    [[nodiscard]] NodeRun& run_of(int i) { return nodes_[static_cast<std::size_t>(i)]; }
    [[nodiscard]] const std::string& node_name(int i) const;
    [[nodiscard]] std::size_t consumers_of(int i) const;
    [[nodiscard]] bool node_ordered(int i) const;
    /// The capacity of the rings in front of node i, its batch, whether it may be chained.
    [[nodiscard]] std::size_t capacity_of(int i) const;
    [[nodiscard]] std::size_t batch_of(int i) const;
    [[nodiscard]] bool may_chain(int i) const;
    [[nodiscard]] RunState& state() noexcept { return state_; }

    /// Registers a stage of node i, named `name` (replica j of n: `name[j]`), placed on `worker`.
    StageBase& add_stage(std::unique_ptr<StageBase> stage, int i, std::string name, unsigned worker,
                         std::size_t replica, std::size_t replicas);
    FlowTask& add_task(std::unique_ptr<FlowTask> task, unsigned worker);
    template <class R>
    R& add_router(std::unique_ptr<R> router) {
        R& r = *router;
        state_.routers.push_back(std::move(router));
        return r;
    }
    /// Whether the flow has an event_time stage: then every edge carries watermarks.
    [[nodiscard]] bool watermarks() const noexcept;
    template <class T>
    Edge<T>& add_edge(std::size_t capacity) {
        auto edge = std::make_unique<Edge<T>>(capacity);
        if (watermarks()) edge->marks = std::make_unique<SpscRing<Mark>>(kMarkRingCapacity);
        Edge<T>& e = *edge;
        state_.edges.push_back(std::move(edge));
        return e;
    }
    /// producer writes `edge`, consumer reads it: wake-ups across workers, and close order.
    void link(FlowTask& producer, FlowTask& consumer, EdgeBase& edge);

  private:
    const Graph& graph_;
    RunState& state_;
    std::vector<NodeRun> nodes_;
    std::vector<EventCount*> wake_handles_;
    std::vector<std::shared_ptr<EventCount>> wake_owners_;
};

template <class T>
Emitter<T>& output_of(StageBase& stage) {
    return dynamic_cast<Producer<T>&>(stage).out;
}
template <class T>
Consumer<T>& input_of(StageBase& stage) {
    return dynamic_cast<Consumer<T>&>(stage);
}

/// Binds an emitter of `task` to a ring.
template <class T>
void bind_ring(Emitter<T>& emitter, FlowTask& task, Edge<T>& edge, std::size_t batch) {
    EmitterBinding<T>::ring(emitter, edge, batch);
    task.tails.push_back(&emitter);
}

/// A task headed by `head` reading the rings out of every replica of node u.
template <class T>
FlowTask& fan_in(Wiring& w, int u, StageBase& head, unsigned worker, std::size_t capacity) {
    NodeRun& up = w.run_of(u);
    const bool ordered = w.node_ordered(u);
    std::vector<Edge<T>*> edges;
    for (std::size_t j = 0; j < up.stages.size(); ++j) {
        Edge<T>& e = w.add_edge<T>(capacity);
        if (ordered) {
            // A frame per chunk; chunks may be empty (a filter), so room for some beyond the
            // items' ring. When it is full the replica waits, as for a full item ring.
            const std::size_t chunks = std::bit_ceil(2 * capacity / up.stages[j]->batch + 8);
            e.frames = std::make_unique<SpscRing<std::uint64_t>>(chunks);
            up.tasks[j]->frame_output(up.stages[j]->batch, e);
        }
        bind_ring(output_of<T>(*up.stages[j]), *up.tasks[j], e, up.stages[j]->batch);
        edges.push_back(&e);
        head.inputs.push_back(&e);
    }
    FlowTask& task =
        w.add_task(std::make_unique<FanInTask<T>>(edges, head, input_of<T>(head), ordered), worker);
    for (std::size_t j = 0; j < up.stages.size(); ++j)
        w.link(*up.tasks[j], task, *edges[j]);
    task.add_stage(head);
    return task;
}

/// Node u's stream as one emitter: its stage's, or a merge stage's behind its replicas.
template <class T>
Outlet<T> base_outlet(Wiring& w, int u, unsigned worker) {
    NodeRun& up = w.run_of(u);
    if (up.outlet == nullptr) {
        if (up.stages.size() == 1) {
            up.outlet = &output_of<T>(*up.stages[0]);
            up.outlet_task = up.tasks[0];
            up.outlet_batch = up.stages[0]->batch;
            up.outlet_worker = up.workers[0];
        } else {
            StageBase& merge = w.add_stage(std::make_unique<MergeStage<T>>(), u,
                                           w.node_name(u) + ".merge", worker, 0, 1);
            up.outlet = &output_of<T>(merge);
            up.outlet_task = &fan_in<T>(w, u, merge, worker, w.capacity_of(u));
            up.outlet_batch = merge.batch;
            up.outlet_worker = worker;
        }
    }
    return {static_cast<Emitter<T>*>(up.outlet), up.outlet_task, up.outlet_batch, up.outlet_worker};
}

/// Node u's stream for its next consumer: the outlet, or a branch of its broadcast.
template <class T>
Outlet<T> outlet(Wiring& w, int u, unsigned worker) {
    const std::size_t consumers = w.consumers_of(u);
    if (consumers == 1) return base_outlet<T>(w, u, worker);
    NodeRun& up = w.run_of(u);
    if (up.broadcast == nullptr) {
        const Outlet<T> base = base_outlet<T>(w, u, worker);
        auto& router = w.add_router(
            std::make_unique<BroadcastRouter<T>>(consumers, w.state(), w.node_name(u)));
        EmitterBinding<T>::chain(*base.emitter, router, base.batch);
        up.broadcast = &router;
    }
    auto& router = static_cast<BroadcastRouter<T>&>(*up.broadcast);
    return {&router.branch(up.branches_taken++), up.outlet_task, up.outlet_batch, up.outlet_worker};
}

/// Stage `s` of node i fed from `from`: chained on one worker, else through a ring.
template <class T>
FlowTask& feed(Wiring& w, int i, const Outlet<T>& from, StageBase& s, unsigned worker) {
    if (w.may_chain(i) && from.worker == worker) {
        // The buffer takes the consumer's batch: chained or not, a stage gets its input in
        // spans of at most its own batch.
        EmitterBinding<T>::chain(*from.emitter, input_of<T>(s), w.batch_of(i));
        from.task->add_stage(s);
        return *from.task;
    }
    Edge<T>& e = w.add_edge<T>(w.capacity_of(i));
    bind_ring(*from.emitter, *from.task, e, from.batch);
    FlowTask& task = w.add_task(std::make_unique<RingTask<T>>(e, s, input_of<T>(s)), worker);
    task.add_stage(s);
    s.inputs.push_back(&e);
    w.link(*from.task, task, e);
    return task;
}

/// Wires the input of node i, whose items are T, from its single upstream. `make_router(n)`
/// makes the router that deals to n replicas.
template <class T, class MakeRouter>
void wire_consumer(Wiring& w, int i, int u, MakeRouter&& make_router) {
    NodeRun& me = w.run_of(i);
    const std::size_t replicas = me.stages.size();
    if (replicas == 1) {
        if (w.run_of(u).stages.size() > 1 && w.consumers_of(u) == 1) {
            me.tasks[0] = &fan_in<T>(w, u, *me.stages[0], me.workers[0], w.capacity_of(i));
        } else {
            me.tasks[0] =
                &feed<T>(w, i, outlet<T>(w, u, me.workers[0]), *me.stages[0], me.workers[0]);
        }
        return;
    }
    const Outlet<T> from = outlet<T>(w, u, me.workers[0]);
    Router<T>& router = make_router(replicas);
    EmitterBinding<T>::chain(*from.emitter, router, from.batch);
    for (std::size_t j = 0; j < replicas; ++j) {
        StageBase& s = *me.stages[j];
        Edge<T>& e = w.add_edge<T>(w.capacity_of(i));
        bind_ring(router.branch(j), *from.task, e, s.batch);
        if (auto* chunks = dynamic_cast<ChunkRouter<T>*>(&router)) chunks->watch(j, e);
        FlowTask& task =
            w.add_task(std::make_unique<RingTask<T>>(e, s, input_of<T>(s)), me.workers[j]);
        task.add_stage(s);
        s.inputs.push_back(&e);
        w.link(*from.task, task, e);
        me.tasks[j] = &task;
    }
}

/// Wires a merge node: a fan-in over one ring from each upstream.
template <class T>
void wire_merge(Wiring& w, int i, const std::vector<int>& upstreams) {
    NodeRun& me = w.run_of(i);
    StageBase& s = *me.stages[0];
    std::vector<Edge<T>*> edges;
    std::vector<FlowTask*> producers;
    for (const int u : upstreams) {
        const Outlet<T> from = outlet<T>(w, u, me.workers[0]);
        Edge<T>& e = w.add_edge<T>(w.capacity_of(i));
        bind_ring(*from.emitter, *from.task, e, from.batch);
        edges.push_back(&e);
        producers.push_back(from.task);
        s.inputs.push_back(&e);
    }
    FlowTask& task =
        w.add_task(std::make_unique<FanInTask<T>>(edges, s, input_of<T>(s), false), me.workers[0]);
    for (std::size_t k = 0; k < edges.size(); ++k)
        w.link(*producers[k], task, *edges[k]);
    task.add_stage(s);
    me.tasks[0] = &task;
}

}  // namespace rill::detail
