// Runtime::start: turns a Flow's graph into stages, rings and tasks, places them on workers and
// hands them over.

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>

#include "rill/flow/flow.hpp"
#include "rill/flow/run.hpp"
#include "rill/runtime/runtime.hpp"

namespace rill {
namespace {

std::atomic<unsigned> g_placement_offset{0};  // spreads flows that are placed automatically

/// Worker of every node: the one asked for, or contiguous blocks over the others in flow order
/// (neighbours share a worker, so chains form and rings cross workers rarely).
std::vector<unsigned> place(const detail::Graph& graph, unsigned workers) {
    const std::size_t n = graph.nodes.size();
    std::vector<unsigned> worker(n);
    std::size_t automatic = 0;
    for (const auto& node : graph.nodes) {
        if (const auto& w = node->options.worker) {
            if (*w >= workers) {
                throw std::invalid_argument("rill::Runtime::start: stage '" + node->name +
                                            "' asks for worker " + std::to_string(*w) +
                                            " but the runtime has " + std::to_string(workers) +
                                            " workers (0.." + std::to_string(workers - 1) + ")");
            }
        } else {
            ++automatic;
        }
    }
    // relaxed: only spreads load; any value is correct.
    const unsigned offset = g_placement_offset.fetch_add(1, std::memory_order_relaxed) % workers;
    std::size_t k = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& w = graph.nodes[i]->options.worker;
        worker[i] = w ? *w : static_cast<unsigned>((k++ * workers / automatic + offset) % workers);
    }
    return worker;
}

}  // namespace

Run Runtime::start(const Flow& flow) {
    return start(flow, StartOptions{});
}

Run Runtime::start(const Flow& flow, StartOptions options) {
    const detail::Graph& graph = flow.graph();
    const FlowOptions& defaults = graph.options;
    if (graph.nodes.empty()) throw std::invalid_argument("rill::Runtime::start: the flow is empty");
    for (const auto& node : graph.nodes) {
        if (!node->is_sink() && node->downstream.empty()) {
            throw std::invalid_argument("rill::Runtime::start: the stream of stage '" + node->name +
                                        "' goes nowhere; end every stream with a sink");
        }
    }
    const std::vector<unsigned> worker = place(graph, workers());

    auto state = std::make_shared<detail::RunState>(*this);
    const std::size_t n = graph.nodes.size();
    std::vector<detail::FlowTask*> task_of(n, nullptr);
    for (std::size_t i = 0; i < n; ++i) {
        const detail::NodeBase& node = *graph.nodes[i];
        std::unique_ptr<detail::StageBase> stage = node.instantiate();
        stage->name = node.name;
        stage->worker = worker[i];
        stage->batch = node.options.batch ? node.options.batch : defaults.batch;
        stage->on_error_policy = node.options.on_error;
        stage->wait = node.options.wait;
        stage->poll_interval = node.options.poll_interval;
        stage->run = state.get();
        detail::StageBase& self = *stage;
        state->stages.push_back(std::move(stage));

        std::unique_ptr<detail::FlowTask> task;
        if (node.upstream < 0) {
            task = node.source_task(self);
        } else {
            const auto up = static_cast<std::size_t>(node.upstream);
            detail::StageBase& up_stage = *state->stages[up];
            const bool chained = node.options.chain.value_or(defaults.chain) &&
                                 worker[up] == worker[i] && graph.nodes[up]->downstream.size() == 1;
            if (chained) {
                node.chain(up_stage, self);
                task_of[i] = task_of[up];
                task_of[i]->chain.push_back(&self);
                task_of[i]->tail = node.emitter(self);
                continue;
            }
            std::unique_ptr<detail::EdgeBase> edge;
            const std::size_t capacity =
                node.options.capacity ? node.options.capacity : defaults.capacity;
            task = node.ring_task(up_stage, self, edge, capacity);
            detail::FlowTask& producer = *task_of[up];
            if (worker[up] != worker[i]) {
                edge->consumer_wake = &wake_handle(worker[i]);
                edge->producer_wake = &wake_handle(worker[up]);
            }
            producer.out_edge = edge.get();
            producer.downstream_open.fetch_add(1, std::memory_order_relaxed);  // not yet shared
            task->upstream = &producer;
            state->edges.push_back(std::move(edge));
        }
        task->run = state.get();
        task->worker = worker[i];
        task->wake_owner = wake_owner(worker[i]);
        task->wake = task->wake_owner.get();
        task->chain.push_back(&self);
        task->tail = node.emitter(self);
        task_of[i] = task.get();
        state->tasks.push_back(std::move(task));
    }
    // A task's tail is its last stage's emitter only when that emitter writes to a ring.
    for (auto& task : state->tasks) {
        if (task->out_edge == nullptr) task->tail = nullptr;
    }

    std::vector<unsigned> used;  // each worker once: stop and cancel wake them all
    for (const auto& task : state->tasks)
        used.push_back(task->worker);
    std::sort(used.begin(), used.end());
    used.erase(std::unique(used.begin(), used.end()), used.end());
    state->begin(std::move(used), options.deadline, std::move(options.stop_token));
    std::vector<Placement> placements;
    for (auto& task : state->tasks)
        placements.push_back({task->worker, task.get()});
    try {
        submit_all(placements, state);
    } catch (...) {
        state->abandon_start();  // nothing was handed over
        throw;
    }
    return Run(std::move(state));
}

}  // namespace rill
