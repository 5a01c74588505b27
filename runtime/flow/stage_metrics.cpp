#include "rill/flow/stage_metrics.hpp"

#include <algorithm>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <stdexcept>

namespace rill {

const StageMetrics& FlowMetrics::at(std::string_view stage) const {
    for (const StageMetrics& m : stages) {
        if (m.name == stage) return m;
    }
    throw std::out_of_range("rill::FlowMetrics: no stage named '" + std::string(stage) + "'");
}

StageMetrics FlowMetrics::sum(std::string_view stage) const {
    StageMetrics total;
    total.name = stage;
    total.stage = stage;
    total.replicas = 0;
    for (const StageMetrics& m : stages) {
        if (m.stage != stage) continue;
        if (total.replicas == 0) total.worker = m.worker;
        ++total.replicas;
        total.in += m.in;
        total.out += m.out;
        total.filtered += m.filtered;
        total.errored += m.errored;
        total.dropped_on_cancel += m.dropped_on_cancel;
        total.late += m.late;
        total.emitted += m.emitted;
        total.in_windows += m.in_windows;
        total.queue_depth += m.queue_depth;
        total.held_upstream += m.held_upstream;
        total.queue_max = std::max(total.queue_max, m.queue_max);
        total.queue_capacity += m.queue_capacity;
    }
    if (total.replicas == 0) {
        throw std::out_of_range("rill::FlowMetrics: no stage named '" + std::string(stage) + "'");
    }
    return total;
}

bool FlowMetrics::balanced() const noexcept {
    for (const StageMetrics& m : stages) {
        if (!m.balanced()) return false;
    }
    return true;
}

std::ostream& operator<<(std::ostream& out, const FlowMetrics& metrics) {
    std::size_t width = 5;
    for (const StageMetrics& m : metrics.stages)
        width = std::max(width, m.name.size());
    std::ostringstream t;
    t << std::left << std::setw(static_cast<int>(width)) << "stage" << std::right << " w"
      << std::setw(12) << "in" << std::setw(12) << "out" << std::setw(10) << "filtered"
      << std::setw(9) << "errored" << std::setw(9) << "dropped" << std::setw(9) << "late"
      << std::setw(12) << "emitted" << std::setw(10) << "windowed" << std::setw(8) << "queue"
      << std::setw(8) << "held" << std::setw(8) << "max" << std::setw(8) << "cap" << '\n';
    for (const StageMetrics& m : metrics.stages) {
        t << std::left << std::setw(static_cast<int>(width)) << m.name << std::right << std::setw(2)
          << m.worker << std::setw(12) << m.in << std::setw(12) << m.out << std::setw(10)
          << m.filtered << std::setw(9) << m.errored << std::setw(9) << m.dropped_on_cancel
          << std::setw(9) << m.late << std::setw(12) << m.emitted << std::setw(10) << m.in_windows
          << std::setw(8) << m.queue_depth << std::setw(8) << m.held_upstream << std::setw(8)
          << m.queue_max << std::setw(8) << m.queue_capacity << '\n';
    }
    return out << t.str();
}

}  // namespace rill
