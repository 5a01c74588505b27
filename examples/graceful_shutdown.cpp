// The seed's graceful shutdown: an endless source of readings, a stage that keeps a resource
// open (open/close hooks), and a sink. SIGINT or SIGTERM drains the flow: the source stops, the
// items in flight are processed, the hooks close in reverse order, and the program exits 0 with
// every item accounted for.
//
//   graceful_shutdown [--raise-after-ms N]   (N: send ourselves SIGTERM after N ms, for CI)

#include <rill/rill.hpp>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include "rill_cli/whole_number.hpp"

namespace {

/// Endless readings; a polling source that never reports done.
struct Sensor {
    using value_type = std::uint64_t;
    std::uint64_t next = 0;
    rill::SourceStatus poll(rill::Emitter<std::uint64_t>& out, std::size_t max) {
        for (std::size_t i = 0; i < max; ++i)
            out.emit(next++);
        return rill::SourceStatus::more;
    }
};

/// Holds a "connection" for its lifetime on the worker, as the seed's resource-managed stage.
struct Enricher {
    bool open_ = false;
    void open(rill::StageContext& context) {
        open_ = true;
        std::printf("enrich: opened on worker %u\n", context.worker());
    }
    std::uint64_t operator()(std::uint64_t reading) const { return reading * 3 + 1; }
    void close() { std::printf("enrich: closed\n"); }
};

}  // namespace

int main(int argc, char** argv) {
    long raise_after_ms = -1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--raise-after-ms" && i + 1 < argc) {
            constexpr std::uint64_t kMaxMs = 3'600'000;
            const auto ms = rill::cli::whole_number(argv[++i], 0, kMaxMs);
            if (!ms) {
                std::fprintf(stderr,
                             "graceful_shutdown: --raise-after-ms '%s': %s (milliseconds)\n",
                             argv[i], rill::cli::expected_whole_number(0, kMaxMs).c_str());
                return 2;
            }
            raise_after_ms = static_cast<long>(*ms);
        } else {
            std::fprintf(stderr,
                         "graceful_shutdown: unknown argument '%s'; usage: "
                         "graceful_shutdown [--raise-after-ms N]\n",
                         a.c_str());
            return 2;
        }
    }

    rill::Runtime runtime;
    rill::Flow flow;
    std::uint64_t items = 0, total = 0;
    flow.source("sensor", Sensor{}).map("enrich", Enricher{}).sink("store", [&](std::uint64_t x) {
        ++items;
        total += x;
    });
    rill::Run run = runtime.start(flow);
    rill::SignalStop on_signal(run, std::chrono::seconds(5));
    std::printf("running; stop with Ctrl-C or SIGTERM\n");
    std::fflush(stdout);
    if (raise_after_ms >= 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(raise_after_ms));
        kill(getpid(), SIGTERM);
    }
    const rill::RunStatus status = run.wait();
    const rill::FlowMetrics metrics = run.metrics();
    std::cout << metrics;
    std::printf("signal %d, status %s, %llu items stored\n", on_signal.received(),
                std::string(rill::to_string(status)).c_str(),
                static_cast<unsigned long long>(items));
    const bool ok = status == rill::RunStatus::stopped && metrics.balanced() &&
                    metrics.at("store").out == items;
    return ok ? 0 : 1;
}
