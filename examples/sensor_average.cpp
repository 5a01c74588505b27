// The seed's sliding average: each sensor's mean temperature over the last 100 ms, every 25 ms
// (sliding processing-time windows, keyed by sensor), with an alert when it runs hot. Sensor 3
// heats up halfway through. Each window's mean is checked to lie within the readings' range and
// every reading to be accounted for.
//
//   sensor_average [readings-per-sensor]

#include <rill/rill.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>

#include "rill_cli/whole_number.hpp"

using namespace std::chrono_literals;

struct Reading {
    std::uint32_t sensor;
    double celsius;
};

constexpr std::uint32_t kSensors = 8;
constexpr double kAlertAbove = 30.0;

/// Every poll, one reading per sensor; idle in between, so that poll_interval paces it.
class Sensors {
  public:
    using value_type = Reading;
    explicit Sensors(std::uint64_t per_sensor) : per_sensor_(per_sensor) {}

    rill::SourceStatus poll(rill::Emitter<Reading>& out, std::size_t) {
        for (std::uint32_t s = 0; s < kSensors; ++s) {
            const double noise =
                static_cast<double>(rill::detail::mix64(tick_ * kSensors + s) % 1000) / 1000.0;
            const bool heating = s == 3 && tick_ > per_sensor_ / 2;
            out.emit(Reading{s, 20.0 + noise + (heating ? 15.0 : 0.0)});
        }
        return ++tick_ == per_sensor_ ? rill::SourceStatus::done : rill::SourceStatus::idle;
    }

  private:
    std::uint64_t per_sensor_;
    std::uint64_t tick_ = 0;
};

int main(int argc, char** argv) {
    std::uint64_t per_sensor = 400;
    if (argc > 2) {
        std::fprintf(stderr, "usage: sensor_average [readings-per-sensor]\n");
        return 2;
    }
    if (argc == 2) {
        const auto n = rill::cli::whole_number(argv[1], 1, 1'000'000);
        if (!n) {
            std::fprintf(stderr, "sensor_average: readings-per-sensor '%s': %s\n", argv[1],
                         rill::cli::expected_whole_number(1, 1'000'000).c_str());
            return 2;
        }
        per_sensor = *n;
    }

    rill::Runtime runtime;
    rill::Flow flow;
    std::uint64_t windows = 0;
    std::uint64_t alerts = 0;
    bool in_range = true;
    rill::Clock::time_point first_end{};  // to print times from the first window on
    flow.source("sensors", Sensors(per_sensor), {.poll_interval = 1ms})
        .key_by([](const Reading& r) { return r.sensor; })
        .window("mean", rill::sliding_window(100ms, 25ms),
                rill::agg::on(&Reading::celsius, rill::agg::Mean<double>{}))
        .sink("alerts", [&](const rill::Windowed<double, std::uint32_t>& w) {
            if (windows++ == 0) first_end = w.end;
            in_range &= w.value >= 20.0 && w.value <= 36.0;
            if (w.value > kAlertAbove && alerts++ < 5) {
                std::printf("sensor %u averaged %.2f C over the 100 ms to +%lld ms\n", w.key,
                            w.value, static_cast<long long>((w.end - first_end) / 1ms));
            }
        });
    rill::Run run = runtime.start(flow);
    run.wait();

    std::cout << windows << " sliding windows, " << alerts << " over " << kAlertAbove << " C\n"
              << run.metrics();
    const rill::StageMetrics mean = run.metrics().at("mean");
    return in_range && alerts > 0 && mean.in == per_sensor * kSensors && run.metrics().balanced()
               ? 0
               : 1;
}
