#include "progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace rill::perf_report {

ProgressLine::ProgressLine(std::size_t total)
    : enabled_(isatty(STDERR_FILENO) == 1),
      total_(total),
      start_(std::chrono::steady_clock::now()) {}

ProgressLine::~ProgressLine() {
    clear();
}

void ProgressLine::stage(std::string what) {
    stage_ = std::move(what);
    draw();
}

void ProgressLine::step() {
    ++done_;
    // A run can take a millisecond: redraw at most 10 times a second.
    const auto now = std::chrono::steady_clock::now();
    if (done_ == total_ || now - last_draw_ >= std::chrono::milliseconds(100)) draw();
}

void ProgressLine::draw() {
    if (!enabled_) return;
    last_draw_ = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(last_draw_ - start_).count();
    std::string eta = "--:--";
    if (done_ > 0 && done_ <= total_) {
        // Runs differ in length between workloads; the average so far is the best guess.
        const auto left = static_cast<long>(elapsed / static_cast<double>(done_) *
                                            static_cast<double>(total_ - done_));
        char buf[32];
        std::snprintf(buf, sizeof buf, "%ld:%02ld", left / 60, left % 60);
        eta = buf;
    }
    char line[256];
    const int n = std::snprintf(line, sizeof line, "rill-perf-report: %s  %zu/%zu runs  ETA %s",
                                stage_.c_str(), done_, total_, eta.c_str());
    if (n < 0) return;
    const auto len =
        static_cast<std::size_t>(n) < sizeof line ? static_cast<std::size_t>(n) : sizeof line - 1;
    // Pad over what a longer previous line left behind.
    std::fprintf(stderr, "\r%s%*s", line, static_cast<int>(width_ > len ? width_ - len : 0), "");
    std::fflush(stderr);
    width_ = len;
}

void ProgressLine::clear() {
    if (!enabled_ || width_ == 0) return;
    std::fprintf(stderr, "\r%*s\r", static_cast<int>(width_), "");
    std::fflush(stderr);
    width_ = 0;
}

}  // namespace rill::perf_report
