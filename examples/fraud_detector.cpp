// The seed's fraud detector on event time: per user, alert when more than 5 transactions or
// more than 5,000 in total fall within any 10 s of event time. Transactions arrive up to 2 s out
// of order; the event_time stage turns their timestamps into watermarks, and the detector (a
// stage object keyed by user, on 2 replicas) holds each transaction until the watermark passes
// it, then checks it in timestamp order: the alerts are exactly those of the sorted stream,
// whatever order the transactions came in. The end compares them with a plain offline pass.
//
//   fraud_detector [transactions]

#include <rill/rill.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "rill_cli/whole_number.hpp"

using namespace std::chrono_literals;
using rill::Clock;

struct Transaction {
    std::uint32_t user;
    std::uint64_t amount;
    Clock::time_point at;  // event time
};
struct Alert {
    std::uint32_t user;
    Clock::time_point at;  // the transaction that crossed a limit
    std::uint64_t count;   // transactions in the 10 s up to it
    std::uint64_t total;
};

constexpr Clock::duration kSpan = 10s;
constexpr std::uint64_t kMaxCount = 5;
constexpr std::uint64_t kMaxTotal = 5'000;

/// One user's last 10 s of checked transactions, oldest first.
class UserWindow {
  public:
    /// Adds t (in timestamp order) and says whether the 10 s up to it break a limit.
    bool check(const Transaction& t) {
        recent_.push_back(t);
        total_ += t.amount;
        while (recent_.front().at <= t.at - kSpan) {
            total_ -= recent_.front().amount;
            recent_.pop_front();
        }
        return recent_.size() > kMaxCount || total_ > kMaxTotal;
    }
    [[nodiscard]] std::uint64_t count() const { return recent_.size(); }
    [[nodiscard]] std::uint64_t total() const { return total_; }

  private:
    std::deque<Transaction> recent_;
    std::uint64_t total_ = 0;
};

/// The detector: holds transactions until the watermark passes them, then checks them in
/// timestamp order (the stage's order on one replica: per user, as key_by keeps each user on
/// one replica).
struct Detector {
    std::atomic<std::size_t>* most_held;  // the most transactions a replica held at once
    std::vector<Transaction> pending{};
    std::map<std::uint32_t, UserWindow> users{};

    void operator()(Transaction t, rill::Emitter<Alert>&) {
        pending.push_back(t);
        // relaxed, load and store: a statistic the main thread reads after run.wait(), which
        // orders it; two replicas may race on it and keep either maximum (close enough).
        if (pending.size() > most_held->load(std::memory_order_relaxed)) {
            most_held->store(pending.size(), std::memory_order_relaxed);  // relaxed: see above
        }
    }
    void on_watermark(rill::Watermark w, rill::Emitter<Alert>& out) { release(w.time, out); }
    void finish(rill::Emitter<Alert>& out) { release(Clock::time_point::max(), out); }

    void release(Clock::time_point upto, rill::Emitter<Alert>& out) {
        const auto due = std::partition(pending.begin(), pending.end(),
                                        [&](const Transaction& t) { return t.at > upto; });
        std::sort(due, pending.end(), [](const Transaction& a, const Transaction& b) {
            return std::tie(a.at, a.user) < std::tie(b.at, b.user);
        });
        for (auto it = due; it != pending.end(); ++it) {
            UserWindow& u = users[it->user];
            if (u.check(*it)) out.emit(Alert{it->user, it->at, u.count(), u.total()});
        }
        pending.erase(due, pending.end());
    }
};

std::vector<Transaction> transactions(std::uint64_t n) {
    std::mt19937_64 rng(2024);
    std::vector<Transaction> out;
    const Clock::time_point t0 = Clock::time_point{} + 24h;
    for (std::uint64_t i = 0; i < n; ++i) {
        // A transaction every 10 ms of event time, from 1,000 users; every 997th starts a burst
        // of six quick ones by one user. Arrival is up to 2 s behind event time.
        const Clock::time_point at = t0 + i * 10ms;
        const auto user = static_cast<std::uint32_t>(rng() % 1000);
        out.push_back({user, 1 + rng() % 400, at});
        if (i % 997 == 0) {
            for (int k = 1; k <= 6; ++k)
                out.push_back({user, 300, at + k * 1ms});
        }
    }
    // Out of order: each arrives up to 2 s after its event time, so none arrives more than 2 s
    // behind one that came before it.
    std::vector<std::pair<Clock::time_point, Transaction>> arrivals;
    for (const Transaction& t : out)
        arrivals.push_back({t.at + std::chrono::microseconds(rng() % 2'000'000), t});
    std::sort(arrivals.begin(), arrivals.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = arrivals[i].second;
    return out;
}

/// The same rule, offline: sort, then check every transaction in timestamp order.
std::set<std::tuple<std::uint32_t, Clock::time_point>> expected_alerts(
    std::vector<Transaction> all) {
    std::sort(all.begin(), all.end(), [](const Transaction& a, const Transaction& b) {
        return std::tie(a.at, a.user) < std::tie(b.at, b.user);
    });
    std::map<std::uint32_t, UserWindow> users;
    std::set<std::tuple<std::uint32_t, Clock::time_point>> alerts;
    for (const Transaction& t : all) {
        if (users[t.user].check(t)) alerts.insert({t.user, t.at});
    }
    return alerts;
}

int main(int argc, char** argv) {
    std::uint64_t n = 200'000;
    if (argc > 2) {
        std::fprintf(stderr, "usage: fraud_detector [transactions]\n");
        return 2;
    }
    if (argc == 2) {
        const auto v = rill::cli::whole_number(argv[1], 1, 10'000'000);
        if (!v) {
            std::fprintf(stderr, "fraud_detector: transactions '%s': %s\n", argv[1],
                         rill::cli::expected_whole_number(1, 10'000'000).c_str());
            return 2;
        }
        n = *v;
    }
    const std::vector<Transaction> feed = transactions(n);

    rill::Runtime runtime;
    rill::Flow flow;
    std::mutex mutex;
    std::atomic<std::size_t> most_held{0};
    std::set<std::tuple<std::uint32_t, Clock::time_point>> alerts;
    flow.source("transactions", feed)
        .event_time("event-time", [](const Transaction& t) { return t.at; },
                    {.max_out_of_order = 2s})
        .key_by([](const Transaction& t) { return t.user; })
        .flat_map<Alert>("detector", Detector{&most_held}, {.replicas = 2})
        .sink("alerts", [&](const Alert& a) {
            std::lock_guard lock(mutex);
            alerts.insert({a.user, a.at});
        });
    rill::Run run = runtime.start(flow);
    run.wait();

    const auto expected = expected_alerts(feed);
    // Watermarks release what the detector holds as event time passes: it never holds much more
    // than the 2 s of disorder's worth (about 200 transactions), not the whole stream.
    const std::size_t held = most_held.load();
    std::cout << feed.size() << " transactions, " << alerts.size()
              << " alerts (offline: " << expected.size() << "); the detector held at most " << held
              << " at once\n"
              << run.metrics();
    return alerts == expected && !alerts.empty() && held < 2'000 && run.metrics().balanced() ? 0
                                                                                             : 1;
}
