// The seed's windowed count: how many log lines of each level per tumbling window of 20 ms,
// keyed by level. The lines come from a paced source (a burst every millisecond); every line is
// counted in exactly one window, which the end checks.
//
//   log_levels [lines]

#include <rill/rill.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>

#include "rill_cli/whole_number.hpp"

using namespace std::chrono_literals;

enum class Level : std::uint8_t { debug, info, warn, error };
constexpr std::array<const char*, 4> kLevelNames{"DEBUG", "INFO", "WARN", "ERROR"};

struct LogLine {
    Level level;
    std::uint32_t service;
};

/// Emits `total` lines, a burst of 500 per poll, then says `idle`: the source's poll_interval
/// paces it to a burst per millisecond.
class LogSource {
  public:
    using value_type = LogLine;
    explicit LogSource(std::uint64_t total) : total_(total) {}

    rill::SourceStatus poll(rill::Emitter<LogLine>& out, std::size_t) {
        for (int i = 0; i < 500 && sent_ < total_; ++i, ++sent_) {
            const std::uint64_t h = rill::detail::mix64(sent_);
            // Mostly debug and info, some warnings, few errors.
            const Level level = h % 100 < 60   ? Level::debug
                                : h % 100 < 90 ? Level::info
                                : h % 100 < 98 ? Level::warn
                                               : Level::error;
            out.emit(LogLine{level, static_cast<std::uint32_t>(h >> 32) % 16});
        }
        return sent_ == total_ ? rill::SourceStatus::done : rill::SourceStatus::idle;
    }

  private:
    std::uint64_t total_;
    std::uint64_t sent_ = 0;
};

int main(int argc, char** argv) {
    std::uint64_t lines = 100'000;
    if (argc > 2) {
        std::fprintf(stderr, "usage: log_levels [lines]\n");
        return 2;
    }
    if (argc == 2) {
        const auto n = rill::cli::whole_number(argv[1], 1, 100'000'000);
        if (!n) {
            std::fprintf(stderr, "log_levels: lines '%s': %s\n", argv[1],
                         rill::cli::expected_whole_number(1, 100'000'000).c_str());
            return 2;
        }
        lines = *n;
    }

    rill::Runtime runtime;
    rill::Flow flow;
    // window start -> count per level; the sink runs on one worker, so no lock.
    std::map<rill::Clock::time_point, std::array<std::uint64_t, 4>> table;
    flow.source("logs", LogSource(lines), {.poll_interval = 1ms})
        .key_by([](const LogLine& line) { return line.level; })
        .window("per-level", rill::tumbling_window(20ms), rill::agg::Count{})
        .sink("report", [&table](const rill::Windowed<std::uint64_t, Level>& w) {
            table[w.start][static_cast<std::size_t>(w.key)] += w.value;
        });
    rill::Run run = runtime.start(flow);
    run.wait();

    std::uint64_t counted = 0;
    const rill::Clock::time_point first =
        table.empty() ? rill::Clock::time_point{} : table.begin()->first;
    for (const auto& [start, counts] : table) {
        std::printf("+%4lld ms:",
                    static_cast<long long>((start - first) / std::chrono::milliseconds(1)));
        for (std::size_t level = 0; level < counts.size(); ++level) {
            std::printf("  %s %6llu", kLevelNames[level],
                        static_cast<unsigned long long>(counts[level]));
            counted += counts[level];
        }
        std::printf("\n");
    }
    std::cout << table.size() << " windows of 20 ms counted " << counted << " of " << lines
              << " lines\n"
              << run.metrics();
    return counted == lines && run.metrics().balanced() ? 0 : 1;
}
