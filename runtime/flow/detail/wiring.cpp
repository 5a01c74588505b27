// Wiring, and Runtime::start, which uses it: turns a Flow's graph into stages, rings and tasks,
// places them on workers (placement.hpp) and hands them over.

#include "rill/flow/detail/wiring.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>

#include "rill/flow/detail/placement.hpp"
#include "rill/flow/flow.hpp"
#include "rill/flow/run.hpp"
#include "rill/runtime/detail/runtime_access.hpp"
#include "rill/runtime/runtime.hpp"

namespace rill {
namespace detail {
namespace {

/// Claims, for one run, the nodes that feed only one (inlets and services); gives the claims
/// back unless the start succeeds.
class Claims {
  public:
    explicit Claims(const Graph& graph) : graph_(graph) {
        for (; claimed_ < graph.nodes.size(); ++claimed_)
            graph.nodes[claimed_]->claim();  // throws std::logic_error when already claimed
    }
    Claims(const Claims&) = delete;
    Claims& operator=(const Claims&) = delete;
    ~Claims() {
        for (std::size_t i = 0; i < claimed_; ++i)
            graph_.nodes[i]->unclaim();
    }
    void keep() noexcept { claimed_ = 0; }

  private:
    const Graph& graph_;
    std::size_t claimed_ = 0;
};

}  // namespace

Wiring::Wiring(const Graph& graph, RunState& state, std::vector<EventCount*> wake_handles,
               std::vector<std::shared_ptr<EventCount>> wake_owners)
    : graph_(graph),
      state_(state),
      nodes_(graph.nodes.size()),
      wake_handles_(std::move(wake_handles)),
      wake_owners_(std::move(wake_owners)) {}

bool Wiring::watermarks() const noexcept {
    return graph_.watermarks;
}
const std::string& Wiring::node_name(int i) const {
    return graph_.nodes[static_cast<std::size_t>(i)]->name;
}
std::size_t Wiring::consumers_of(int i) const {
    return graph_.nodes[static_cast<std::size_t>(i)]->downstream.size();
}
bool Wiring::node_ordered(int i) const {
    return graph_.nodes[static_cast<std::size_t>(i)]->options.ordered;
}
std::size_t Wiring::capacity_of(int i) const {
    const std::size_t c = graph_.nodes[static_cast<std::size_t>(i)]->options.capacity;
    return c != 0 ? c : graph_.options.capacity;
}
std::size_t Wiring::batch_of(int i) const {
    const std::size_t b = graph_.nodes[static_cast<std::size_t>(i)]->options.batch;
    return b != 0 ? b : graph_.options.batch;
}
bool Wiring::may_chain(int i) const {
    return graph_.nodes[static_cast<std::size_t>(i)]->options.chain.value_or(graph_.options.chain);
}

StageBase& Wiring::add_stage(std::unique_ptr<StageBase> stage, int i, std::string name,
                             unsigned worker, std::size_t replica, std::size_t replicas) {
    const NodeBase& node = *graph_.nodes[static_cast<std::size_t>(i)];
    stage->name = replicas == 1 ? name : name + "[" + std::to_string(replica) + "]";
    stage->stage = std::move(name);
    stage->worker = worker;
    stage->batch = batch_of(i);
    stage->on_error_policy = node.options.on_error;
    stage->wait = node.options.wait;
    stage->poll_interval = node.options.poll_interval;
    stage->replica = replica;
    stage->replicas = replicas;
    stage->run = &state_;
    StageBase& s = *stage;
    state_.stages.push_back(std::move(stage));
    return s;
}

FlowTask& Wiring::add_task(std::unique_ptr<FlowTask> task, unsigned worker) {
    task->run = &state_;
    task->worker = worker;
    task->wake_owner = wake_owners_[worker];
    task->wake = task->wake_owner.get();
    task->clock = state_.runtime().options().clock.get();
    FlowTask& t = *task;
    state_.tasks.push_back(std::move(task));
    return t;
}

void Wiring::link(FlowTask& producer, FlowTask& consumer, EdgeBase& edge) {
    if (producer.worker != consumer.worker) {
        edge.consumer_wake = wake_handles_[consumer.worker];
        edge.producer_wake = wake_handles_[producer.worker];
    }
    producer.out_edges.push_back(&edge);
    producer.downstream_open.fetch_add(1, std::memory_order_relaxed);  // not yet shared
    consumer.upstreams.push_back(&producer);
}

}  // namespace detail

Run Runtime::start(const Flow& flow) {
    return start(flow, StartOptions{});
}

Run Runtime::start(const Flow& flow, StartOptions options) {
    const detail::Graph& graph = *flow.graph_;
    if (graph.nodes.empty()) throw std::invalid_argument("rill::Runtime::start: the flow is empty");
    for (const auto& node : graph.nodes) {
        if (!node->is_sink() && node->downstream.empty()) {
            throw std::invalid_argument("rill::Runtime::start: the stream of stage '" + node->name +
                                        "' goes nowhere; end every stream with a sink");
        }
    }
    const std::vector<std::vector<unsigned>> placed = detail::place(graph, workers());
    detail::Claims claims(graph);  // an inlet or a service feeds one run: a second start throws

    auto state = std::make_shared<detail::RunState>(*this);
    std::vector<EventCount*> handles;
    std::vector<std::shared_ptr<EventCount>> owners;
    for (unsigned w = 0; w < workers(); ++w) {
        handles.push_back(&detail::RuntimeAccess::wake_handle(*this, w));
        owners.push_back(detail::RuntimeAccess::wake_owner(*this, w));
    }
    detail::Wiring wiring(graph, *state, std::move(handles), std::move(owners));
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        const detail::NodeBase& node = *graph.nodes[i];
        const int self = static_cast<int>(i);
        detail::NodeRun& run = wiring.run_of(self);
        const std::size_t replicas = placed[i].size();
        for (std::size_t j = 0; j < replicas; ++j) {
            run.stages.push_back(
                &wiring.add_stage(node.instantiate(), self, node.name, placed[i][j], j, replicas));
        }
        run.workers = placed[i];
        run.tasks.assign(replicas, nullptr);
        node.wire(wiring, self);
    }

    std::vector<unsigned> used;  // each worker once: stop and cancel wake them all
    for (const auto& task : state->tasks)
        used.push_back(task->worker);
    std::sort(used.begin(), used.end());
    used.erase(std::unique(used.begin(), used.end()), used.end());
    state->begin(std::move(used), options.deadline, std::move(options.stop_token));
    std::vector<detail::RuntimeAccess::Placement> placements;
    for (auto& task : state->tasks)
        placements.push_back({task->worker, task.get()});
    try {
        detail::RuntimeAccess::submit_all(*this, placements, state);
    } catch (...) {
        state->abandon_start();  // nothing was handed over
        throw;
    }
    claims.keep();
    return Run(std::move(state));
}

}  // namespace rill
