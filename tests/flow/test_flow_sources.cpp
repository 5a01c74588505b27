// Sources at their edges: elements that throw under ErrorPolicy::skip (every source kind goes on
// past them, none livelocks), poll_interval pacing an idle polling source, and rill::iota at the
// limits of its integer type.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

#include "rill/rill.hpp"

using namespace std::chrono_literals;

namespace {

rill::RuntimeOptions two_workers() {
    return {.workers = 2, .allow_oversubscription = true};
}

/// An item type whose construction from a "poisoned" int throws: reading that element of a range
/// as an item fails.
struct Checked {
    int value = 0;
    Checked(int v) : value(v) {  // NOLINT: implicit, as a range's value type must be
        if (v % 7 == 3) throw std::runtime_error("poisoned element " + std::to_string(v));
    }
};

/// An input range whose dereference throws at the poisoned elements (a parser over bad records).
class ThrowingRange {
  public:
    struct iterator {
        using value_type = int;
        using difference_type = std::ptrdiff_t;
        int at = 0;
        int operator*() const {
            if (at % 7 == 3) throw std::runtime_error("bad record " + std::to_string(at));
            return at;
        }
        iterator& operator++() {
            ++at;
            return *this;
        }
        void operator++(int) { ++at; }
        bool operator==(const iterator&) const = default;
    };
    explicit ThrowingRange(int n) : n_(n) {}
    [[nodiscard]] iterator begin() const { return {0}; }
    [[nodiscard]] iterator end() const { return {n_}; }

  private:
    int n_;
};

/// A range of ints whose value type is Checked: the source converts each element, and the
/// conversion throws at the poisoned ones.
class ConvertingRange {
  public:
    struct iterator {
        using value_type = Checked;
        using difference_type = std::ptrdiff_t;
        int at = 0;
        int operator*() const { return at; }
        iterator& operator++() {
            ++at;
            return *this;
        }
        void operator++(int) { ++at; }
        bool operator==(const iterator&) const = default;
    };
    explicit ConvertingRange(int n) : n_(n) {}
    [[nodiscard]] iterator begin() const { return {0}; }
    [[nodiscard]] iterator end() const { return {n_}; }

  private:
    int n_;
};

struct Outcome {
    rill::RunStatus status;
    std::uint64_t sum = 0;
    std::uint64_t count = 0;
    rill::StageMetrics source;
};

template <class Source>
Outcome run_skipping(Source source) {
    rill::Runtime runtime(two_workers());
    rill::Flow flow({.batch = 8});
    auto sum = std::make_shared<std::uint64_t>(0);
    auto count = std::make_shared<std::uint64_t>(0);
    flow.source("source", std::move(source), {.on_error = rill::ErrorPolicy::skip()})
        .sink("sink", [sum, count](auto item) {
            if constexpr (std::is_same_v<decltype(item), Checked>) {
                *sum += static_cast<std::uint64_t>(item.value);
            } else {
                *sum += static_cast<std::uint64_t>(item);
            }
            ++*count;
        });
    rill::Run run = runtime.start(flow);
    const std::optional<rill::RunStatus> status = run.wait_for(120s);
    REQUIRE(status.has_value());  // a source stuck on one element would never end
    return {*status, *sum, *count, run.metrics().at("source")};
}

/// Sum and count of the elements of 0..n-1 that are not poisoned.
std::pair<std::uint64_t, std::uint64_t> clean(int n) {
    std::uint64_t sum = 0, count = 0;
    for (int i = 0; i < n; ++i) {
        if (i % 7 == 3) continue;
        sum += static_cast<std::uint64_t>(i);
        ++count;
    }
    return {sum, count};
}

}  // namespace

TEST_CASE("sources: an element that throws is skipped and counted, for every kind of source",
          "[flow][sources]") {
    constexpr int kItems = 1000;
    // Not a structured binding: Clang 14 cannot capture one in a lambda.
    const auto clean_run = clean(kItems);
    const std::uint64_t sum = clean_run.first;
    const std::uint64_t count = clean_run.second;
    const std::uint64_t poisoned = static_cast<std::uint64_t>(kItems) - count;
    const auto check = [&](const Outcome& o) {
        CHECK(o.status == rill::RunStatus::completed);
        CHECK(o.sum == sum);
        CHECK(o.count == count);
        CHECK(o.source.errored == poisoned);
        CHECK(o.source.emitted == count);
        CHECK(o.source.balanced());
    };
    SECTION("an input range whose dereference throws") {
        check(run_skipping(ThrowingRange(kItems)));
    }
    SECTION("a range whose elements fail to convert to the item type") {
        check(run_skipping(ConvertingRange(kItems)));
    }
    SECTION("a callable returning std::optional that throws") {
        check(run_skipping([i = 0]() mutable -> std::optional<int> {
            if (i == kItems) return std::nullopt;
            const int v = i++;
            if (v % 7 == 3) throw std::runtime_error("bad record");
            return v;
        }));
    }
}

TEST_CASE("sources: under fail_fast an element that throws fails the run, naming the source",
          "[flow][sources]") {
    rill::Runtime runtime(two_workers());
    rill::Flow flow;
    flow.source("records", ThrowingRange(100)).sink("sink", [](int) {});
    rill::Run run = runtime.start(flow);
    CHECK_THROWS_WITH(run.wait(),
                      Catch::Matchers::Contains("stage 'records' failed: bad record 3"));
}

namespace {

/// One item per poll, then idle; counts its polls.
struct OneThenIdle {
    using value_type = std::uint64_t;
    std::shared_ptr<std::atomic<std::uint64_t>> polls =
        std::make_shared<std::atomic<std::uint64_t>>(0);
    rill::SourceStatus poll(rill::Emitter<std::uint64_t>& out, std::size_t) {
        out.emit(polls->fetch_add(1));
        return rill::SourceStatus::idle;
    }
};

}  // namespace

TEST_CASE("sources: poll_interval paces a source that reports idle", "[flow][sources]") {
    // Pacing bounds the polls from above: at most one per interval (plus the first), whatever
    // the machine does. Unpaced, this source was polled hundreds of thousands of times.
    constexpr auto kInterval = 10ms;
    rill::Runtime runtime(two_workers());
    OneThenIdle source;
    std::atomic<std::uint64_t> got{0};
    rill::Flow flow;
    flow.source("paced", source, {.poll_interval = kInterval}).sink("sink", [&got](std::uint64_t) {
        got.fetch_add(1);
    });
    const auto start = std::chrono::steady_clock::now();
    rill::Run run = runtime.start(flow);
    std::this_thread::sleep_for(200ms);
    const rill::StopReport report = run.stop(60s);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(report.drained);
    const std::uint64_t polls = source.polls->load();
    const auto bound = static_cast<std::uint64_t>(elapsed / kInterval) + 1;
    const double ms = std::chrono::duration<double, std::milli>(elapsed).count();
    INFO("polls: " << polls << " in " << ms << " ms; at most " << bound);
    CHECK(polls >= 1);
    CHECK(polls <= bound);
    CHECK(got.load() == polls);
}

TEMPLATE_TEST_CASE("sources: iota covers the whole range of its integer type", "[flow][sources]",
                   std::int8_t, std::uint8_t, std::int16_t, int, std::int64_t, std::uint64_t) {
    using T = TestType;
    using L = std::numeric_limits<T>;
    struct Span {
        T first, last;
    };
    std::vector<Span> spans = {{L::min(), static_cast<T>(L::min() + 5)},
                               {static_cast<T>(L::max() - 5), L::max()},
                               {static_cast<T>(-1 < 0 ? 0 : 0), static_cast<T>(10)}};
    if constexpr (sizeof(T) <= 2) spans.push_back({L::min(), L::max()});  // every value but max
    rill::Runtime runtime(two_workers());
    for (const Span s : spans) {
        CAPTURE(+s.first, +s.last);
        rill::Flow flow;
        std::uint64_t count = 0;
        bool in_order = true;
        std::optional<T> previous;
        flow.source("numbers", rill::iota<T>(s.first, s.last)).sink("sink", [&](T x) {
            if (previous && static_cast<T>(*previous + 1) != x) in_order = false;
            previous = x;
            ++count;
        });
        REQUIRE(runtime.start(flow).wait() == rill::RunStatus::completed);
        // In the unsigned type, as iota counts: the difference does not fit in T.
        using U = std::make_unsigned_t<T>;
        CHECK(count == static_cast<U>(static_cast<U>(s.last) - static_cast<U>(s.first)));
        CHECK(in_order);
        if (count != 0) CHECK(*previous == static_cast<T>(s.last - 1));
    }
}
