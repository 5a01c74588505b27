// The seed's bidirectional pipeline, where each request carries its own response channel, as a
// rill::Service: a small quote service. Four client threads ask for quotes (symbol, quantity);
// the flow prices them (mid price from a table), then quotes them (a spread that widens with
// size); each client gets exactly its own quotes back, each call with a deadline. A last call
// with a deadline shorter than the work shows the timeout. Prints a summary and the per-stage
// accounting; exits 0 when every quote matched its request, 1 otherwise.
//
//   request_response [calls-per-client]

#include <rill/rill.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <iostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>
#include "rill_cli/whole_number.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::array<const char*, 6> kSymbols{"ACME", "BOLT", "CRUX", "DYNE", "EPIC", "SLOW"};
constexpr std::uint32_t kSlow = 5;  // pricing SLOW takes 50 ms: the deadline demo

struct QuoteRequest {
    std::uint32_t client = 0;
    std::uint32_t seq = 0;
    std::uint32_t symbol = 0;
    std::uint32_t quantity = 0;
};

struct Priced {
    QuoteRequest request;
    std::int64_t mid = 0;  // in ticks
};

struct Quote {
    std::uint32_t client = 0;
    std::uint32_t seq = 0;
    std::uint32_t symbol = 0;
    std::uint32_t quantity = 0;
    std::int64_t bid = 0;
    std::int64_t ask = 0;
};

std::int64_t mid_price(std::uint32_t symbol) {
    return 10'000 + 2'500 * static_cast<std::int64_t>(symbol);
}
std::int64_t half_spread(std::uint32_t quantity) {
    return 1 + quantity / 100;
}

/// What the service must answer: the client checks every quote against it.
Quote expected_quote(const QuoteRequest& r) {
    const std::int64_t mid = mid_price(r.symbol);
    const std::int64_t half = half_spread(r.quantity);
    return {r.client, r.seq, r.symbol, r.quantity, mid - half, mid + half};
}

bool same(const Quote& a, const Quote& b) {
    return a.client == b.client && a.seq == b.seq && a.symbol == b.symbol &&
           a.quantity == b.quantity && a.bid == b.bid && a.ask == b.ask;
}

}  // namespace

int main(int argc, char** argv) {
    std::uint32_t calls = 10'000;
    if (argc > 2) {
        std::fprintf(stderr, "usage: request_response [calls-per-client]\n");
        return 2;
    }
    if (argc == 2) {
        const auto n = rill::cli::whole_number(argv[1], 1, 10'000'000);
        if (!n) {
            std::fprintf(stderr, "request_response: calls-per-client '%s': %s\n", argv[1],
                         rill::cli::expected_whole_number(1, 10'000'000).c_str());
            return 2;
        }
        calls = static_cast<std::uint32_t>(*n);
    }

    rill::Runtime runtime;  // one pinned worker per CPU this process may use
    rill::Flow flow;
    auto [quotes, requests] = flow.service<QuoteRequest, Quote>("quotes", {.max_in_flight = 256});
    requests
        .map("price",
             [](QuoteRequest r) {
                 if (r.symbol == kSlow) std::this_thread::sleep_for(50ms);
                 return Priced{r, mid_price(r.symbol)};
             })
        .map("quote",
             [](Priced p) {
                 const std::int64_t half = half_spread(p.request.quantity);
                 return Quote{p.request.client,   p.request.seq, p.request.symbol,
                              p.request.quantity, p.mid - half,  p.mid + half};
             })
        .respond("answer");
    rill::Run run = runtime.start(flow);

    // Each client keeps up to 32 calls outstanding (4 x 32 <= max_in_flight: a call holds its
    // slot until its reply is read) and checks every quote it gets against its own request.
    constexpr std::uint32_t kClients = 4;
    constexpr std::size_t kWindow = 32;
    std::atomic<std::uint64_t> matched{0};
    std::atomic<std::uint64_t> mismatched{0};
    std::atomic<std::uint64_t> failed{0};
    const auto started = Clock::now();
    std::vector<std::thread> clients;
    for (std::uint32_t c = 0; c < kClients; ++c) {
        clients.emplace_back([&, c, service = quotes] {
            std::deque<std::pair<QuoteRequest, rill::Reply<Quote>>> pending;
            const auto settle = [&] {
                auto& [request, reply] = pending.front();
                try {
                    (same(reply.get(), expected_quote(request)) ? matched : mismatched)
                        .fetch_add(1);
                } catch (const std::exception& e) {
                    if (failed.fetch_add(1) == 0) std::cerr << "call failed: " << e.what() << '\n';
                }
                pending.pop_front();
            };
            for (std::uint32_t seq = 0; seq < calls; ++seq) {
                if (pending.size() == kWindow) settle();
                // Every symbol but SLOW; quantities from 1 to 1000.
                const QuoteRequest request{c, seq, (c + seq) % kSlow, 1 + (seq * 7919) % 1000};
                pending.emplace_back(request, service.call(request, 5s));
            }
            while (!pending.empty())
                settle();
        });
    }
    for (std::thread& t : clients)
        t.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();

    // A few quotes, as the seed prints its responses.
    for (std::uint32_t symbol = 0; symbol < 3; ++symbol) {
        const Quote q = quotes.call(QuoteRequest{0, calls + symbol, symbol, 500}, 1s).get();
        std::cout << "quote " << kSymbols[q.symbol] << " x" << q.quantity << ": bid " << q.bid
                  << " ask " << q.ask << '\n';
    }
    // Pricing SLOW takes 50 ms: a 5 ms deadline expires, and the caller learns it at 5 ms.
    bool timed_out = false;
    const auto asked = Clock::now();
    try {
        static_cast<void>(quotes.call(QuoteRequest{0, 0, kSlow, 1}, 5ms).get());
    } catch (const rill::CallError& e) {
        timed_out = e.kind() == rill::CallError::Kind::timeout;
        std::cout
            << "SLOW with a 5 ms deadline: " << e.what() << " (after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - asked).count()
            << " ms)\n";
    }

    quotes.close();  // the run completes once the calls it accepted are answered
    run.wait();
    const rill::FlowMetrics metrics = run.metrics();
    const std::uint64_t total = std::uint64_t{kClients} * calls;
    std::cout << kClients << " clients x " << calls << " calls: " << matched << " matched, "
              << mismatched << " mismatched, " << failed << " failed in " << seconds << " s ("
              << static_cast<std::uint64_t>(static_cast<double>(total) / seconds) << " calls/s)\n"
              << metrics;
    const bool ok = matched == total && mismatched == 0 && failed == 0 && timed_out &&
                    metrics.balanced() && quotes.in_flight() == 0;
    return ok ? 0 : 1;
}
