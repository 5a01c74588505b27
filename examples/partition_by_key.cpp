// The seed's partitioning and stateful stream processing together: a stream of transactions of
// many users goes through key_by(user id) into replicas of a fraud detector, so every user's
// transactions meet the same replica, in order, and each replica keeps its users' running totals
// in a rill::KeyedState of its own: no locks, no shared map. As in the seed, a user whose amount
// since the last alert passes a threshold raises an alert and starts again from zero; one sink
// takes the alerts of every replica. At the end each replica reports its users and totals; the
// program checks them and the alerts against a serial computation and prints each replica's key
// count.
//
//   partition_by_key [--replicas=N] [--events=N]
//     --replicas=N   copies of the detector, 1 to 64 (default 4)
//     --events=N     transactions, 1 to 5000000 (default 400000)

#include <rill/rill.hpp>
#include <rill/state/keyed_state.hpp>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include "rill_cli/whole_number.hpp"

namespace {

constexpr std::uint32_t kUsers = 2'000;
constexpr std::int64_t kThresholdCents = 100'000;  // the seed's $1000

struct Transaction {
    std::uint32_t user;
    std::uint32_t seq;  // the user's n-th transaction, from 0: lets the detector check key order
    std::int64_t cents;
};

struct Alert {
    std::uint32_t user;
    std::uint32_t seq;        // the transaction that raised it
    std::int64_t since_last;  // the amount since the user's previous alert
};

/// Deterministic transactions: a tenth of the users make half of them (hot keys), amounts of
/// $10 to $510.
std::vector<Transaction> make_transactions(std::uint64_t n) {
    std::vector<Transaction> out;
    out.reserve(n);
    std::vector<std::uint32_t> next_seq(kUsers, 0);
    std::uint64_t state = 0x2545f4914f6cdd1d;
    for (std::uint64_t i = 0; i < n; ++i) {
        // splitmix64
        std::uint64_t z = (state += 0x9e3779b97f4a7c15);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
        z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
        z ^= z >> 31;
        const auto r = static_cast<std::uint32_t>(z);
        const std::uint32_t user = (z >> 63) != 0 ? r % (kUsers / 10) : r % kUsers;
        out.push_back(
            {user, next_seq[user]++, 1'000 + static_cast<std::int64_t>((z >> 32) % 50'000)});
    }
    return out;
}

struct Account {
    std::int64_t total = 0;       // every transaction's amount
    std::int64_t since_last = 0;  // since the last alert
    std::uint32_t transactions = 0;
};

/// What a replica hands back when it closes: its users' accounts and what went wrong.
struct ReplicaReport {
    bool closed = false;
    std::uint64_t transactions = 0;
    std::uint64_t out_of_order = 0;
    std::vector<std::pair<std::uint32_t, Account>> accounts;
};

/// The seed's fraudDetector, one copy per replica. Its state is the users that key_by sends to
/// this replica; at close() it reports them to reports[replica].
class Detector {
  public:
    explicit Detector(std::shared_ptr<std::vector<ReplicaReport>> reports)
        : reports_(std::move(reports)) {}

    void open(rill::StageContext& context) { replica_ = context.replica(); }

    void operator()(const Transaction& tx, rill::Emitter<Alert>& alerts) {
        Account& a = accounts_[tx.user];
        if (tx.seq != a.transactions) ++out_of_order_;  // key_by keeps each user's order
        ++a.transactions;
        a.total += tx.cents;
        a.since_last += tx.cents;
        if (a.since_last > kThresholdCents) {
            alerts.emit(Alert{tx.user, tx.seq, a.since_last});
            a.since_last = 0;
        }
    }

    void close() {
        ReplicaReport& r = (*reports_)[replica_];
        r.closed = true;
        r.out_of_order = out_of_order_;
        r.accounts.reserve(accounts_.size());
        accounts_.for_each([&r](const std::uint32_t& user, Account& a) {
            r.transactions += a.transactions;
            r.accounts.emplace_back(user, a);
        });
    }

  private:
    std::shared_ptr<std::vector<ReplicaReport>> reports_;
    rill::KeyedState<std::uint32_t, Account> accounts_{kUsers};
    std::size_t replica_ = 0;
    std::uint64_t out_of_order_ = 0;
};

int usage_error(const std::string& message) {
    std::fprintf(stderr, "partition_by_key: %s\n", message.c_str());
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t replicas = 4;
    std::uint64_t events = 400'000;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a.starts_with("--replicas=")) {
            const auto v = rill::cli::whole_number(a.substr(11), 1, 64);
            if (!v) {
                return usage_error("--replicas='" + std::string(a.substr(11)) +
                                   "': expected a whole number from 1 to 64");
            }
            replicas = static_cast<std::size_t>(*v);
        } else if (a.starts_with("--events=")) {
            const auto v = rill::cli::whole_number(a.substr(9), 1, 5'000'000);
            if (!v) {
                return usage_error("--events='" + std::string(a.substr(9)) +
                                   "': expected a whole number from 1 to 5000000");
            }
            events = *v;
        } else {
            return usage_error("unknown argument '" + std::string(a) +
                               "'; expected --replicas=N or --events=N");
        }
    }

    const std::vector<Transaction> transactions = make_transactions(events);
    auto reports = std::make_shared<std::vector<ReplicaReport>>(replicas);

    // Alerts per user as the sink saw them: their count, their amounts, and whether each user's
    // alerts came in order (the fan-in interleaves replicas, but one replica's output stays in
    // order, and one user lives in one replica).
    struct Seen {
        std::uint32_t alerts = 0;
        std::int64_t alerted_cents = 0;
        std::int64_t last_seq = -1;
    };
    std::vector<Seen> seen(kUsers);
    std::uint64_t alerts_out_of_order = 0, alerts = 0;

    rill::Runtime runtime;  // one pinned worker per CPU
    rill::Flow flow;
    flow.source("transactions", transactions)  // an lvalue range: referenced, not copied
        .key_by([](const Transaction& tx) { return tx.user; })
        .flat_map("detect", Detector(reports), {.replicas = replicas})
        .sink("alerts", [&](const Alert& a) noexcept {
            Seen& s = seen[a.user];
            if (static_cast<std::int64_t>(a.seq) <= s.last_seq) ++alerts_out_of_order;
            s.last_seq = a.seq;
            ++s.alerts;
            s.alerted_cents += a.since_last;
            ++alerts;
        });
    rill::Run run = runtime.start(flow);
    run.wait();  // rethrows a stage's error
    const rill::FlowMetrics metrics = run.metrics();

    // The serial reference: one map for everyone.
    std::vector<Account> reference(kUsers);
    std::vector<Seen> reference_alerts(kUsers);
    std::uint64_t reference_alert_count = 0;
    for (const Transaction& tx : transactions) {
        Account& a = reference[tx.user];
        ++a.transactions;
        a.total += tx.cents;
        a.since_last += tx.cents;
        if (a.since_last > kThresholdCents) {
            ++reference_alerts[tx.user].alerts;
            reference_alerts[tx.user].alerted_cents += a.since_last;
            ++reference_alert_count;
            a.since_last = 0;
        }
    }

    bool ok = true;
    const auto expect = [&ok](bool condition, const std::string& what) {
        if (!condition) {
            std::fprintf(stderr, "partition_by_key: MISMATCH: %s\n", what.c_str());
            ok = false;
        }
    };

    std::printf(
        "partition_by_key: %llu transactions of %u users, key_by(user) into %zu replica%s "
        "of 'detect' on %u workers\n",
        static_cast<unsigned long long>(events), kUsers, replicas, replicas == 1 ? "" : "s",
        runtime.workers());
    std::vector<int> owner(kUsers, -1);  // the replica that kept each user's state
    std::uint64_t users = 0;
    for (std::size_t j = 0; j < replicas; ++j) {
        const ReplicaReport& r = (*reports)[j];
        const std::string row = replicas == 1 ? "detect" : "detect[" + std::to_string(j) + "]";
        const rill::StageMetrics& m = metrics.at(row);
        std::printf("  %-11s worker %u: %5zu users, %7llu transactions, %6llu alerts\n",
                    row.c_str(), m.worker, r.accounts.size(),
                    static_cast<unsigned long long>(r.transactions),
                    static_cast<unsigned long long>(m.emitted));
        expect(r.closed, row + " never ran its close() hook");
        expect(r.transactions == m.in, row + ": its state holds " + std::to_string(r.transactions) +
                                           " transactions but it received " + std::to_string(m.in));
        expect(r.out_of_order == 0,
               row + ": " + std::to_string(r.out_of_order) + " transactions out of user order");
        for (const auto& [user, account] : r.accounts) {
            ++users;
            if (owner[user] != -1) {
                expect(false, "user " + std::to_string(user) + " has state in replicas " +
                                  std::to_string(owner[user]) + " and " + std::to_string(j));
            }
            owner[user] = static_cast<int>(j);
            const Account& want = reference[user];
            if (account.total != want.total || account.transactions != want.transactions ||
                account.since_last != want.since_last) {
                expect(false, "user " + std::to_string(user) + ": total " +
                                  std::to_string(account.total) + " cents in " +
                                  std::to_string(account.transactions) +
                                  " transactions, serial reference " + std::to_string(want.total) +
                                  " in " + std::to_string(want.transactions));
            }
        }
    }
    std::uint64_t reference_users = 0;
    for (std::uint32_t u = 0; u < kUsers; ++u) {
        if (reference[u].transactions == 0) continue;
        ++reference_users;
        if (owner[u] == -1) expect(false, "user " + std::to_string(u) + " has no state anywhere");
        if (seen[u].alerts != reference_alerts[u].alerts ||
            seen[u].alerted_cents != reference_alerts[u].alerted_cents) {
            expect(false, "user " + std::to_string(u) + ": " + std::to_string(seen[u].alerts) +
                              " alerts, serial reference " +
                              std::to_string(reference_alerts[u].alerts));
        }
    }
    expect(users == reference_users, "the replicas hold " + std::to_string(users) +
                                         " users, the serial reference " +
                                         std::to_string(reference_users));
    expect(alerts == reference_alert_count, "the sink got " + std::to_string(alerts) +
                                                " alerts, the serial reference " +
                                                std::to_string(reference_alert_count));
    expect(alerts_out_of_order == 0, std::to_string(alerts_out_of_order) +
                                         " alerts reached the sink out of their user's order");
    expect(metrics.balanced(), "a stage's metrics are not balanced");
    std::printf("%llu users, %llu alerts (serial reference: %llu users, %llu alerts)\n",
                static_cast<unsigned long long>(users), static_cast<unsigned long long>(alerts),
                static_cast<unsigned long long>(reference_users),
                static_cast<unsigned long long>(reference_alert_count));
    if (ok) std::printf("ok: every user's running total and alerts match the serial computation\n");
    return ok ? 0 : 1;
}
