#pragma once
// The chart of rill-perf-report: one self-contained SVG document (no fonts, scripts, style
// sheets or images from elsewhere, so it can be mailed or attached to an issue) with a heatmap of
// median throughput over capacity x batch for each wait policy, chaining and worker count, and
// the latency percentiles of the points that measured them.

#include <string>
#include <vector>

#include "rill/perf/sweep.hpp"

namespace rill::perf {

/// Renders `points` as an SVG document in UTF-8.
///
/// Every point is exactly one `<rect class="cell">` whose data-capacity, data-batch, data-wait,
/// data-chained, data-workers, data-mips (median, M items/s), data-noisy, data-best and
/// data-knee attributes describe it; a capacity x batch slot of a panel that has no point is a
/// `<rect class="empty">` labelled "not measured". Panels are ordered by the first appearance of
/// each wait policy and of each (chained, workers) pair in `points`; rows are capacities and
/// columns batches, ascending. `summary.best` and `summary.knee` are outlined and described above
/// the panels; an index past the end of `points` marks nothing. Latency percentiles (medians over
/// a point's samples) are drawn for the points whose samples carry them. The same input always
/// gives the same bytes; empty `points` gives a chart that says nothing was measured.
[[nodiscard]] std::string render_svg(const std::vector<Point>& points, const Summary& summary,
                                     const std::string& title);

}  // namespace rill::perf
