#pragma once
// The progress line on stderr while a report runs: runs done / total and the time left, redrawn
// in place. Quiet when stderr is not a terminal, so logs and pipes get no carriage returns.

#include <chrono>
#include <cstddef>
#include <string>

namespace rill::perf_report {

class ProgressLine {
  public:
    /// `total`: runs in the whole report (every workload, repetitions and peers).
    explicit ProgressLine(std::size_t total);
    ~ProgressLine();
    ProgressLine(const ProgressLine&) = delete;
    ProgressLine& operator=(const ProgressLine&) = delete;

    /// What is running now ("chain", "chain peers").
    void stage(std::string what);
    /// One more run finished.
    void step();
    /// Erases the line (before the report goes to stdout on the same terminal).
    void clear();

    [[nodiscard]] bool enabled() const noexcept { return enabled_; }

  private:
    void draw();

    bool enabled_;
    std::size_t total_;
    std::size_t done_ = 0;
    std::string stage_;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_draw_{};
    std::size_t width_ = 0;
};

}  // namespace rill::perf_report
