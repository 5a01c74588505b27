#include "replicas/rill_cases.hpp"

#include <rill/rill.hpp>

#include <string>

namespace rill::bench {

Runtime& replicas_runtime(bool pinned) {
    if (!pinned) {
        static Runtime floating{RuntimeOptions{.workers = 2, .pin = false}};
        return floating;
    }
    static Runtime rt{RuntimeOptions{.workers = 2}};
    return rt;
}

std::string describe(const RillCase& c) {
    const RillCase d{};
    std::string name = "rill/replicas:" + std::to_string(c.replicas);
    if (c.replicas > 1) name += c.ordered ? "/ordered" : "/unordered";
    if (c.distribution == Distribution::least_loaded) name += "/least_loaded";
    if (c.ends != d.ends) name += c.ends == Ends::worker0 ? "/ends:w0" : "/ends:auto";
    if (c.batch != d.batch) name += "/batch:" + std::to_string(c.batch);
    if (c.source_batch != d.source_batch) name += "/source_batch:" + std::to_string(c.source_batch);
    if (c.capacity != d.capacity) name += "/cap:" + std::to_string(c.capacity);
    if (c.wait) name += "/wait:" + to_string(*c.wait);
    if (!c.pinned) name += "/unpinned";
    return name;
}

Outcome run_rill(std::uint64_t n, std::uint32_t rounds, const RillCase& c) {
    // One replica keeps the order anyway: check it there too.
    Checker checker(c.ordered || c.replicas == 1);
    Flow flow(FlowOptions{.capacity = c.capacity, .batch = c.batch});
    StageOptions source{.batch = c.source_batch, .wait = c.wait};
    StageOptions sink{.wait = c.wait};
    StageOptions middle{.wait = c.wait,
                        .replicas = c.replicas,
                        .ordered = c.ordered,
                        .distribution = c.distribution};
    switch (c.ends) {
        case Ends::split:
            source.worker = 0;
            sink.worker = 1;
            break;
        case Ends::worker0:
            source.worker = 0;
            sink.worker = 0;
            break;
        case Ends::automatic:
            break;
    }
    // The work's first replica on worker 0 (with one replica: chained to the source), the second
    // on worker 1: what automatic placement gives too, but the same in every run.
    if (c.ends != Ends::automatic) middle.worker = 0;
    flow.source("source", iota<std::uint64_t>(0, n), source)
        .map(
            "work", [rounds](std::uint64_t i) noexcept { return work(i, rounds); }, middle)
        .sink(
            "sink", [&checker](Result r) noexcept { checker(r); }, sink);
    Run run = replicas_runtime(c.pinned).start(flow);
    run.wait();
    return checker.outcome();
}

}  // namespace rill::bench
