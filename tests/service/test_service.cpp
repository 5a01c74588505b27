// Request/response services: many callers each get exactly their own response; deadlines;
// a full service; cancel and stop with calls outstanding; stage exceptions delivered to their
// callers; bad options; calls after the end; and the accounting of every run.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "rill/rill.hpp"
#include "rill/service/service.hpp"
#include "support/progress_watchdog.hpp"
#include "support/stress_config.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

/// Reused by every configuration of a test case (ctest runs each case in its own process).
rill::Runtime& runtime() {
    static rill::Runtime rt({.workers = 2, .allow_oversubscription = true});
    return rt;
}

/// How late a call whose contract is a deadline may return on a noisy, shared 2-core VM.
Clock::duration slack() {
    return rill::test::kSlowBuild ? 10s : 2s;
}

/// StageOptions with `replicas` copies of the stage, in order or not.
rill::StageOptions with_replicas(rill::StageOptions options, std::size_t replicas,
                                 bool ordered = false) {
    options.replicas = replicas;
    options.ordered = ordered;
    return options;
}

/// Requests carry who asked (thread, sequence number); responses echo it with a value that only
/// this request produces.
struct Request {
    std::uint32_t thread = 0;
    std::uint32_t seq = 0;
};
struct Priced {
    Request request;
    std::uint64_t price = 0;
};
struct Quote {
    std::uint32_t thread = 0;
    std::uint32_t seq = 0;
    std::uint64_t price = 0;
    std::uint64_t check = 0;
    Quote() = default;
    Quote(const Priced& p)  // NOLINT: the segment's last value converts to the response
        : thread(p.request.thread),
          seq(p.request.seq),
          price(p.price),
          check(p.price ^ 0x9e3779b97f4a7c15ULL) {}
};

std::uint64_t price_of(const Request& r) {
    return (std::uint64_t{r.thread} << 32 | r.seq) * 2654435761ULL + 17;
}

bool matches(const Quote& q, std::uint32_t thread, std::uint32_t seq) {
    const std::uint64_t price = price_of({thread, seq});
    return q.thread == thread && q.seq == seq && q.price == price &&
           q.check == (price ^ 0x9e3779b97f4a7c15ULL);
}

/// Holds a stage until opened: a stand-in for slow work that the test controls.
struct Gate {
    std::atomic<bool> open{false};
    std::atomic<std::uint64_t> waiting{0};
    void pass() {
        if (open.load()) return;
        waiting.fetch_add(1);
        while (!open.load())
            std::this_thread::sleep_for(100us);
        waiting.fetch_sub(1);
    }
};

template <class F>
rill::CallError::Kind call_error_kind(F&& f) {
    try {
        f();
    } catch (const rill::CallError& e) {
        return e.kind();
    }
    FAIL("no CallError thrown");
    return rill::CallError::Kind::timeout;
}

}  // namespace

TEST_CASE("service: 4 threads, every response matched to its own request", "[service]") {
    const bool chain = GENERATE(true, false);
    const std::size_t replicas = GENERATE(1u, 2u);
    // 1: call and wait; 16: up to 16 calls outstanding per thread. A call holds its slot until
    // its Reply is read, so threads x window <= max_in_flight, or the callers could all wait
    // for slots that only their own unread Replies hold.
    const std::size_t window = GENERATE(1u, 16u);
    const std::uint64_t calls = rill::test::stress_items(40'000, 4);
    constexpr std::uint32_t kThreads = 4;
    CAPTURE(chain, replicas, window, calls);
    INFO("not run when an earlier configuration stalled: it would only stall again");
    REQUIRE(rill::test::ProgressWatchdog::stalls_so_far() == 0);

    rill::Flow flow({.chain = chain});
    auto [quotes, requests] = flow.service<Request, Quote>("quote", {.max_in_flight = 64});
    requests
        .map(
            "price",
            [](Request r) {
                return Priced{r, price_of(r)};
            },
            with_replicas({}, replicas))
        .map("check", [](Priced p) { return p; })
        .respond("answer");
    rill::Run run = runtime().start(flow);

    std::atomic<std::uint64_t> matched{0};
    std::atomic<std::uint64_t> mismatched{0};
    std::atomic<std::uint64_t> failed{0};
    // A request lost in the flow holds its caller (and its slot) until the call's deadline: when
    // no call is settled for the stall limit, the watchdog cancels the run, which answers every
    // outstanding call as dropped.
    const rill::test::ProgressWatchdog dog(
        "service calls", [&] { return matched.load() + mismatched.load() + failed.load(); },
        [&run] { run.cancel(); });
    std::vector<std::thread> threads;
    for (std::uint32_t t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t, service = quotes] {
            std::deque<std::pair<std::uint32_t, rill::Reply<Quote>>> pending;
            const auto settle = [&] {
                auto& [seq, reply] = pending.front();
                try {
                    const Quote q = reply.get();
                    (matches(q, t, seq) ? matched : mismatched).fetch_add(1);
                } catch (...) {
                    failed.fetch_add(1);
                }
                pending.pop_front();
            };
            for (std::uint32_t seq = 0; seq < calls; ++seq) {
                if (pending.size() == window) settle();
                try {
                    pending.emplace_back(seq, service.call(Request{t, seq}, 60s));
                } catch (const rill::CallError&) {  // no slot in time, or the run has ended
                    failed.fetch_add(1);
                    break;
                }
            }
            while (!pending.empty())
                settle();
        });
    }
    for (auto& th : threads)
        th.join();

    INFO(dog.describe());
    CHECK_FALSE(dog.stalled());
    CHECK(mismatched.load() == 0);
    CHECK(failed.load() == 0);
    CHECK(matched.load() == kThreads * calls);
    CHECK(quotes.in_flight() == 0);
    quotes.close();
    CHECK(run.wait() == rill::RunStatus::completed);
    const rill::FlowMetrics m = run.metrics();
    CHECK(m.balanced());
    CHECK(m.at("quote").out == kThreads * calls);
    CHECK(m.at("answer").in == kThreads * calls);
    CHECK(m.at("answer").out == kThreads * calls);
}

TEST_CASE("service: a deadline shorter than the work times out, the late answer goes nowhere",
          "[service]") {
    rill::Flow flow;
    // One slot: the call after a timed-out one gets the same slot, once the slow request has
    // left the flow, and must see its own response, not the late one.
    auto [svc, requests] = flow.service<int, int>("slow", {.max_in_flight = 1});
    requests
        .map("work",
             [](int x) {
                 if (x < 0) std::this_thread::sleep_for(200ms);
                 return x * 10;
             })
        .respond("answer");
    rill::Run run = runtime().start(flow);

    const auto start = Clock::now();
    rill::Reply<int> slow = svc.call(-1, 5ms);
    try {
        static_cast<void>(slow.get());
        FAIL("the slow call answered within its deadline");
    } catch (const rill::CallError& e) {
        CHECK(e.kind() == rill::CallError::Kind::timeout);
        CHECK(e.service() == "slow");
        CHECK(std::string(e.what()) == "rill service 'slow': no response within 5 ms");
    }
    const auto waited = Clock::now() - start;
    CHECK(waited >= 5ms);
    CHECK(waited < 5ms + slack());
    CHECK_FALSE(slow.valid());

    // The timed-out request still holds the only slot while it is in the flow.
    CHECK(svc.in_flight() == 1);
    CHECK_FALSE(svc.try_call(7, 1s).has_value());
    // A short wait for the slot times out too, with its own message.
    rill::Reply<int> no_slot = svc.call(8, 2ms);
    CHECK(no_slot.ready());
    try {
        static_cast<void>(no_slot.get());
        FAIL("a call got a slot that was taken");
    } catch (const rill::CallError& e) {
        CHECK(e.kind() == rill::CallError::Kind::timeout);
        CHECK(std::string(e.what()).find("no free slot within 2 ms") != std::string::npos);
    }

    // This one waits for the slot, then gets its own answer: 20, never the late -10.
    CHECK(svc.call(2, 10s).get() == 20);
    for (int i = 3; i < 50; ++i)
        CHECK(svc.call(i, 10s).get() == 10 * i);

    // ready() turns true at the deadline; get() then throws at once.
    rill::Reply<int> late = svc.call(-2, 1ms);
    std::this_thread::sleep_for(2ms);
    CHECK(late.ready());
    CHECK(call_error_kind([&] { static_cast<void>(late.get()); }) ==
          rill::CallError::Kind::timeout);
    // call_until states a deadline rather than a timeout.
    while (svc.in_flight() != 0)
        std::this_thread::sleep_for(1ms);
    rill::Reply<int> until = svc.call_until(-3, Clock::now() + 20ms);
    try {
        static_cast<void>(until.get());
        FAIL("answered before the deadline");
    } catch (const rill::CallError& e) {
        CHECK(std::string(e.what()) ==
              "rill service 'slow': no response before the call's deadline");
    }

    svc.close();
    CHECK(run.wait() == rill::RunStatus::completed);
    CHECK(svc.in_flight() == 0);
    CHECK(run.metrics().balanced());
    CHECK(run.metrics().at("answer").in == 51);  // every request was answered, late or not
}

TEST_CASE("service: a full service fails try_call, and call waits for a slot", "[service]") {
    rill::Flow flow;
    auto gate = std::make_shared<Gate>();
    auto [svc, requests] = flow.service<int, int>("full", {.max_in_flight = 4});
    requests
        .map("held",
             [gate](int x) {
                 gate->pass();
                 return x + 1;
             })
        .respond("answer");
    rill::Run run = runtime().start(flow);

    std::vector<rill::Reply<int>> replies;
    for (int i = 0; i < 4; ++i) {
        std::optional<rill::Reply<int>> r = svc.try_call(i, 30s);
        REQUIRE(r.has_value());
        replies.push_back(std::move(*r));
    }
    CHECK(svc.in_flight() == 4);
    CHECK(svc.max_in_flight() == 4);
    CHECK_FALSE(svc.try_call(99, 30s).has_value());
    CHECK_FALSE(replies.front().ready());

    // A caller that waits for a slot proceeds once one frees up.
    std::atomic<int> waited_answer{-1};
    std::thread waiter([&, s = svc] { waited_answer = s.call(100, 30s).get(); });
    std::this_thread::sleep_for(20ms);
    CHECK(waited_answer.load() == -1);
    gate->open = true;
    for (int i = 0; i < 4; ++i)
        CHECK(replies[i].get() == i + 1);
    waiter.join();
    CHECK(waited_answer.load() == 101);

    // A Reply dropped without get() gives its slot back once answered.
    for (int i = 0; i < 100; ++i)
        static_cast<void>(svc.call(i, 30s));
    CHECK(svc.call(5, 30s).get() == 6);
    svc.close();
    CHECK(run.wait() == rill::RunStatus::completed);
    CHECK(svc.in_flight() == 0);
    CHECK(run.metrics().balanced());
}

TEST_CASE("service: a stage's exception reaches only its caller, the run goes on",
          "[service][errors]") {
    struct Rejected : std::runtime_error {
        int order;
        explicit Rejected(int o)
            : std::runtime_error("order " + std::to_string(o) + " rejected"), order(o) {}
    };
    const bool chain = GENERATE(true, false);
    // 1: one validate stage; 3: three replicas of it, the stream after them in order.
    const std::size_t replicas = GENERATE(1u, 3u);
    CAPTURE(chain, replicas);
    rill::Flow flow({.chain = chain});
    auto [svc, requests] = flow.service<int, std::string>("orders");
    requests
        .map(
            "validate",
            [](int x) {
                if (x % 7 == 0) throw Rejected(x);
                return x;
            },
            // Services skip whatever is asked: the caller gets the exception.
            with_replicas({.on_error = rill::ErrorPolicy::fail_fast()}, replicas, true))
        .map("format",
             [](int x) {
                 if (x % 11 == 0) throw std::domain_error("no format for " + std::to_string(x));
                 return std::to_string(x);
             })
        .respond("answer");
    rill::Run run = runtime().start(flow);

    constexpr int kCalls = 1000;
    int rejected = 0;
    int unformatted = 0;
    std::deque<rill::Reply<std::string>> replies;
    for (int i = 1; i <= kCalls; ++i)
        replies.push_back(svc.call(i, 30s));
    for (int i = 1; i <= kCalls; ++i) {
        rill::Reply<std::string> r = std::move(replies.front());
        replies.pop_front();
        try {
            const std::string answer = r.get();  // outside CHECK, which would catch
            CHECK(answer == std::to_string(i));
            CHECK(i % 7 != 0);
            CHECK(i % 11 != 0);
        } catch (const Rejected& e) {
            CHECK(e.order == i);
            CHECK(i % 7 == 0);
            ++rejected;
        } catch (const std::domain_error& e) {
            CHECK(std::string(e.what()) == "no format for " + std::to_string(i));
            CHECK(i % 11 == 0);
            ++unformatted;
        }
    }
    CHECK(rejected == kCalls / 7);
    CHECK(unformatted == kCalls / 11 - kCalls / 77);
    CHECK_FALSE(run.done());
    svc.close();
    CHECK(run.wait() == rill::RunStatus::completed);
    const rill::FlowMetrics m = run.metrics();
    CHECK(m.balanced());
    CHECK(m.sum("validate").errored == static_cast<std::uint64_t>(rejected));
    CHECK(m.at("format").errored == static_cast<std::uint64_t>(unformatted));
    CHECK(m.at("answer").in == static_cast<std::uint64_t>(kCalls - rejected - unformatted));
}

TEST_CASE("service: cancelling the run completes every outstanding call", "[service][cancel]") {
    const bool chain = GENERATE(true, false);
    CAPTURE(chain);
    rill::Flow flow({.capacity = 64, .batch = 16, .chain = chain});
    auto [svc, requests] = flow.service<int, int>("busy", {.max_in_flight = 512});
    requests
        .map("slow",
             [](int x) {
                 std::this_thread::sleep_for(200us);
                 return x;
             })
        .map("more", [](int x) { return x + 1; })
        .respond("answer");
    rill::Run run = runtime().start(flow);

    constexpr int kThreads = 4;
    constexpr int kPerThread = 100;
    std::atomic<int> answered{0};
    std::atomic<int> dropped{0};
    std::atomic<int> closed{0};
    std::atomic<int> wrong{0};
    std::atomic<int> submitted{0};
    std::atomic<long long> slowest_ns{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t, s = svc] {
            std::vector<rill::Reply<int>> replies;
            for (int i = 0; i < kPerThread; ++i) {
                replies.push_back(s.call(t * kPerThread + i, 60s));
                submitted.fetch_add(1);
            }
            for (int i = 0; i < kPerThread; ++i) {
                const auto begin = Clock::now();
                try {
                    if (replies[i].get() == t * kPerThread + i + 1) {
                        answered.fetch_add(1);
                    } else {
                        wrong.fetch_add(1);
                    }
                } catch (const rill::CallError& e) {
                    if (e.kind() == rill::CallError::Kind::dropped) {
                        dropped.fetch_add(1);
                    } else if (e.kind() == rill::CallError::Kind::closed) {
                        closed.fetch_add(1);
                    } else {
                        wrong.fetch_add(1);
                    }
                }
                const long long ns = (Clock::now() - begin).count();
                long long prev = slowest_ns.load();
                while (prev < ns && !slowest_ns.compare_exchange_weak(prev, ns)) {
                }
            }
        });
    }
    while (submitted.load() < kThreads * kPerThread / 2)
        std::this_thread::sleep_for(100us);
    const auto cancelled_at = Clock::now();
    run.cancel();
    for (auto& th : threads)
        th.join();
    const auto all_done = Clock::now() - cancelled_at;

    CHECK(wrong.load() == 0);
    CHECK(answered.load() + dropped.load() + closed.load() == kThreads * kPerThread);
    CHECK(dropped.load() > 0);
    CHECK(all_done < slack());
    CHECK(run.wait() == rill::RunStatus::cancelled);
    CHECK(svc.in_flight() == 0);
    CHECK(svc.closed());
    const rill::FlowMetrics m = run.metrics();
    CHECK(m.balanced());
    // Calls after the end fail at once.
    CHECK(call_error_kind([&s = svc] { static_cast<void>(s.call(1, 30s).get()); }) ==
          rill::CallError::Kind::closed);
    CHECK_FALSE(svc.try_call(1, 30s).has_value());
}

TEST_CASE("service: cancel while every slot is held by a stalled stage", "[service][cancel]") {
    rill::Flow flow({.chain = false});  // the answer stage sees the cancel and drops
    auto gate = std::make_shared<Gate>();
    auto [svc, requests] = flow.service<int, int>("stalled", {.max_in_flight = 8});
    requests
        .map("held",
             [gate](int x) {
                 gate->pass();
                 return x;
             })
        .respond("answer");
    rill::Run run = runtime().start(flow);

    std::vector<rill::Reply<int>> replies;
    for (int i = 0; i < 8; ++i)
        replies.push_back(svc.call(i, 60s));
    // Callers waiting for a slot return when the run is cancelled (the service closes).
    std::atomic<int> waiter_kind{-1};
    std::thread waiter([&, s = svc] {
        try {
            static_cast<void>(s.call(9, 60s).get());
            waiter_kind = -2;
        } catch (const rill::CallError& e) {
            waiter_kind = static_cast<int>(e.kind());
        }
    });
    std::this_thread::sleep_for(20ms);
    run.cancel();
    waiter.join();
    CHECK(waiter_kind.load() == static_cast<int>(rill::CallError::Kind::closed));
    gate->open = true;  // the stage's code cannot be interrupted: let it return
    int dropped = 0;
    for (auto& r : replies) {
        try {
            static_cast<void>(r.get());
        } catch (const rill::CallError& e) {
            CHECK(e.kind() == rill::CallError::Kind::dropped);
            CHECK(std::string(e.what()) ==
                  "rill service 'stalled': the request was dropped: the run was cancelled or "
                  "stopped before it was answered");
            ++dropped;
        }
    }
    CHECK(dropped == 8);
    CHECK(run.wait() == rill::RunStatus::cancelled);
    CHECK(run.metrics().balanced());
    CHECK(svc.in_flight() == 0);
}

TEST_CASE("service: stop drains what was accepted, later calls are closed", "[service]") {
    rill::Flow flow;
    auto [svc, requests] = flow.service<int, long>("drain");
    requests
        .map("work",
             [](int x) {
                 std::this_thread::sleep_for(50us);
                 return long{x} * 3;
             })
        .respond("answer");
    rill::Run run = runtime().start(flow);
    std::vector<rill::Reply<long>> replies;
    for (int i = 0; i < 200; ++i)
        replies.push_back(svc.call(i, 60s));
    const rill::StopReport report = run.stop(30s);
    CHECK(report.drained);
    for (int i = 0; i < 200; ++i)
        CHECK(replies[i].get() == 3L * i);
    CHECK(run.wait() == rill::RunStatus::stopped);
    rill::Reply<long> after = svc.call(1, 1s);
    CHECK(after.ready());
    try {
        static_cast<void>(after.get());
        FAIL("a call after the end was answered");
    } catch (const rill::CallError& e) {
        CHECK(e.kind() == rill::CallError::Kind::closed);
        CHECK(std::string(e.what()) == "rill service 'drain': the service is closed");
    }
    CHECK(run.metrics().balanced());
}

TEST_CASE("service: a service closed before its run starts ends the run at once", "[service]") {
    rill::Flow flow;
    auto [svc, requests] = flow.service<int, int>("early");
    requests.respond("answer");
    svc.close();
    rill::Run run = runtime().start(flow);
    CHECK(run.wait() == rill::RunStatus::completed);
    CHECK(call_error_kind([&s = svc] { static_cast<void>(s.call(1, 1s).get()); }) ==
          rill::CallError::Kind::closed);
}

TEST_CASE("service: bad options are rejected, naming the service and the value", "[service]") {
    rill::Flow flow;
    const auto message = [&](rill::ServiceOptions options) -> std::string {
        try {
            static_cast<void>(flow.service<int, int>("svc", options));
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "accepted";
    };
    CHECK(message({.max_in_flight = 0}) ==
          "rill service 'svc': max_in_flight 0 is outside [1, 1048576]");
    CHECK(message({.max_in_flight = rill::kMaxServiceInFlight + 1}) ==
          "rill service 'svc': max_in_flight 1048577 is outside [1, 1048576]");
    CHECK(message({.wait = rill::WaitPolicy::spin_park(rill::WaitPolicy::kMaxSpin + 1)})
              .find("rill service 'svc': wait: WaitPolicy.spin 16777217") == 0);
    // A stage name used twice is the flow's usual error.
    auto [a, requests] = flow.service<int, int>("twice");
    requests.respond("answer");
    const auto twice = [&] { static_cast<void>(flow.service<int, int>("twice")); };
    CHECK_THROWS_AS(twice(), std::invalid_argument);
}

TEST_CASE("service: Reply handles", "[service]") {
    rill::Flow flow;
    auto [svc, requests] = flow.service<std::string, std::size_t>("len");
    requests.map("size", [](const std::string& s) { return s.size(); }).respond("answer");
    // A call made before the run starts waits in the inlet and is answered once it does.
    rill::Reply<std::size_t> early = svc.call("early", 30s);
    std::this_thread::sleep_for(1ms);
    CHECK_FALSE(early.ready());
    rill::Run run = runtime().start(flow);
    CHECK(early.get() == 5);

    rill::Reply<std::size_t> r = svc.call("hello", 30s);
    CHECK(r.valid());
    CHECK(r.wait_until(Clock::now() + 30s));
    CHECK(r.ready());
    rill::Reply<std::size_t> moved = std::move(r);
    CHECK_FALSE(r.valid());                      // NOLINT: checking the moved-from state
    CHECK_FALSE(r.ready());                      // NOLINT
    CHECK_THROWS_AS(r.get(), std::logic_error);  // NOLINT
    CHECK(moved.get() == 5);
    CHECK_THROWS_AS(moved.get(), std::logic_error);
    CHECK(svc.name() == "len");

    // Copies of a Service share it.
    rill::Service<std::string, std::size_t> copy = svc;
    CHECK(copy.call("four", 30s).get() == 4);
    copy.close();
    CHECK(svc.closed());
    CHECK(run.wait() == rill::RunStatus::completed);
}

TEST_CASE("service: values without a default constructor", "[service]") {
    struct Id {
        explicit Id(int v) : value(v) {}
        int value;
    };
    struct Named {
        Named(Id id) : text(std::to_string(id.value)) {}  // NOLINT: converts on respond
        std::string text;
    };
    rill::Flow flow;
    auto [svc, requests] = flow.service<Id, Named>("ids");
    requests.map("next", [](Id id) { return Id(id.value + 1); }).respond("answer");
    rill::Run run = runtime().start(flow);
    CHECK(svc.call(Id(41), 30s).get().text == "42");
    svc.close();
    CHECK(run.wait() == rill::RunStatus::completed);
}
