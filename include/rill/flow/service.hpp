#pragma once
// Service<Req, Resp>: request/response over a segment of a flow. Any number of application
// threads call(); each call gets a Reply, a future of its own response, with a deadline.
//
//   rill::Flow flow;
//   auto [quotes, requests] = flow.service<Order, Quote>("quote", {.max_in_flight = 256});
//   requests.map("price", [](Order o) { return price(o); })      // Order -> Priced
//           .map("quote", [](Priced p) { return Quote{p}; }, {.replicas = 2})
//           .respond("answer");                                  // Quote -> the caller
//   rill::Run run = runtime.start(flow);
//   rill::Reply<Quote> reply = quotes.call(order, std::chrono::milliseconds(5));
//   Quote q = reply.get();  // the response, or throws (see below)
//
// What a caller can get:
//  * the response its own request produced (never another caller's);
//  * the exception a stage of the segment threw for its request, rethrown as is (the stage
//    counts the item as errored and goes on: service stages always run with ErrorPolicy::skip,
//    so that one bad request does not end the run);
//  * CallError::timeout once the deadline passes without a response (a free slot counts too:
//    call() never waits past the deadline);
//  * CallError::dropped when the run is cancelled, fails, or misses its stop deadline before the
//    request was answered: every outstanding Reply then completes, none hangs;
//  * CallError::closed when the service was closed, or its run stopped or ended, before the call.
//
// Bounded: at most ServiceOptions::max_in_flight calls are outstanding. Each holds one
// preallocated slot from call() until both its caller and its request are done with it: the
// caller until its Reply is read or destroyed (a thread that keeps many unread Replies can fill
// the service by itself), the request until it leaves the flow (so a request whose caller timed
// out still counts, and the bound holds for what is inside the flow too). A full service fails
// try_call() and makes call() wait, by the options' WaitPolicy, for a free slot until the
// call's deadline. In steady state a call allocates nothing (the Resp type aside).
//
// The requests enter the flow through an inlet's queue (moodycamel::ConcurrentQueue, any number
// of producers) as detail::Call<T, Resp> items: the request value and a reference to its slot.
// A stage's value changes type along the segment; the slot reference travels with it. A Call
// destroyed while it still owns its slot, wherever that happens (a ring or the inlet drained by
// an abort, a stage's overflow, an item dropped on the floor), answers its caller with
// CallError::dropped: that is how a cancelled run completes every outstanding future without
// any bookkeeping of its own.
//
// Lifetimes: Service handles and Replies share the slot table; Calls point into it without
// owning it. A run ends only once its rings are drained, so after a run only the inlet queue
// can still hold Calls; every owner of the queue (the Service handles, the source object in the
// Flow and in the run) and every stage object of the segment holds the table too, and
// destroys its Calls before letting go of the table.

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include "rill/detail/assert.hpp"
#include "rill/detail/cache_line.hpp"
#include "rill/detail/cpu_relax.hpp"
#include "rill/detail/memory.hpp"
#include "rill/flow/detail/inlet_queue.hpp"
#include "rill/flow/flow.hpp"
#include "rill/flow/stage_options.hpp"
#include "rill/ring/mpmc_ring.hpp"
#include "rill/runtime/runtime.hpp"
#include "rill/wait/event_count.hpp"
#include "rill/wait/futex.hpp"
#include "rill/wait/wait_policy.hpp"
#include "rill/wait/waiter.hpp"

namespace rill {

/// The most calls a service may have outstanding (ServiceOptions::max_in_flight).
inline constexpr std::size_t kMaxServiceInFlight = std::size_t{1} << 20;

struct ServiceOptions {
    /// Calls outstanding at once (1 to kMaxServiceInFlight). Each has a preallocated slot: one
    /// cache line plus the response. The inlet in front of the segment holds as many requests.
    std::size_t max_in_flight = 1024;
    /// How a caller waits for a free slot and for its response: spin, yield, then park (the
    /// response wait parks on the slot itself, a futex, woken by the stage that answers).
    /// The default spins briefly and parks without yielding: callers usually share cores with
    /// pinned workers, and a caller that spins or yields keeps the very worker that would
    /// answer it off its core. Measured on a 2-core VM (2 workers, a 2-stage segment), round
    /// trip p50 with 1 / 4 calling threads: spin_park(128, 0) 8 / 31 us, park() 6 / 22-61 us,
    /// spin_park(256, 4) 120 / 140 us. With cores to spare, spin longer (busy_spin: lowest).
    WaitPolicy wait = WaitPolicy::spin_park(128, 0);
};

/// Why a call produced no response. The message names the service and says what happened.
class CallError : public std::runtime_error {
  public:
    enum class Kind : std::uint8_t {
        timeout,  ///< the deadline passed before the response (or before a free slot)
        dropped,  ///< the run was cancelled, failed or stopped before the request was answered
        closed,   ///< the service was closed (or its run ended) before the call
    };

    CallError(Kind kind, std::string service, const std::string& what);

    [[nodiscard]] Kind kind() const noexcept { return kind_; }
    [[nodiscard]] const std::string& service() const noexcept { return service_; }

  private:
    Kind kind_;
    std::string service_;
};

[[nodiscard]] std::string_view to_string(CallError::Kind kind) noexcept;

template <class Resp>
class Reply;
template <class Req, class Resp>
class Service;
template <class T, class Resp>
class CallStream;

/// What Flow::service() returns: the handle callers use, and the stream of their requests, to
/// be mapped and finally answered with respond().
template <class Req, class Resp>
struct ServiceEntry {
    Service<Req, Resp> service;
    CallStream<Req, Resp> requests;
};

namespace detail {

/// Throws std::invalid_argument naming the service, the field and its value.
void validate_service_options(std::string_view service, const ServiceOptions& options);

/// The errors a Reply throws (built out of line: they format messages).
[[nodiscard]] CallError no_response_error(const std::string& service,
                                          std::chrono::nanoseconds timeout);
[[nodiscard]] CallError no_slot_error(const std::string& service, std::chrono::nanoseconds timeout,
                                      std::size_t max_in_flight);
[[nodiscard]] CallError dropped_error(const std::string& service);
[[nodiscard]] CallError closed_error(const std::string& service);
/// A blocking call on a worker thread: std::logic_error naming the service and what to use.
[[noreturn]] void throw_on_worker(const std::string& service, const char* what);

using ServiceClock = std::chrono::steady_clock;

/// `now + timeout`, saturated at time_point::max(); now for a timeout <= 0.
template <class Rep, class Period>
[[nodiscard]] ServiceClock::time_point deadline_after(
    ServiceClock::time_point now, std::chrono::duration<Rep, Period> timeout) noexcept {
    if (timeout <= std::chrono::duration<Rep, Period>::zero()) return now;
    const auto room = std::chrono::duration<double>(ServiceClock::time_point::max() - now);
    if (std::chrono::duration<double>(timeout) >= room) return ServiceClock::time_point::max();
    return now + std::chrono::ceil<ServiceClock::duration>(timeout);
}

/// The timeout as a message states it (saturated).
template <class Rep, class Period>
[[nodiscard]] std::chrono::nanoseconds timeout_for_message(
    std::chrono::duration<Rep, Period> timeout) noexcept {
    if (timeout <= std::chrono::duration<Rep, Period>::zero()) return {};
    if (std::chrono::duration<double>(timeout) >=
        std::chrono::duration<double>(std::chrono::nanoseconds::max())) {
        return std::chrono::nanoseconds::max();
    }
    return std::chrono::ceil<std::chrono::nanoseconds>(timeout);
}

// ---- the slot table ----------------------------------------------------------------------
//
// A slot carries one call from call() to its response. Two parties own it: the caller (its
// Reply) and the responder (the Call travelling through the flow). The slot's 32-bit state word
// holds three bits, each set once per use by one party with an RMW:
//   kAnswered    set by the responder after it stored the outcome (value, error, dropped,
//                closed) in the slot;
//   kSleeping    set by the caller before it sleeps on the word (a futex);
//   kCallerDone  set by a caller that gives up before the answer (timeout, Reply destroyed).
// Protocol and why it is correct:
//  1. Answer: the responder writes the outcome, then fetch_or(kAnswered) with acq_rel. The
//     release publishes the outcome: a caller whose acquire load sees kAnswered sees it.
//  2. Wait: the caller loads the word (acquire) until kAnswered; to sleep it first sets
//     kSleeping with an RMW and sleeps only while the word still equals what that RMW left.
//     Both parties' RMWs are on one word, so one is first in its modification order: if the
//     caller's, the responder's fetch_or returns kSleeping and it wakes the futex; if the
//     responder's, the caller's RMW returns kAnswered and it does not sleep. A wake between
//     the caller's RMW and its sleep is not lost: the futex compares the word with the value
//     the caller expects (now changed) atomically with queueing the caller.
//  3. Release: exactly one party recycles the slot, the one that finishes last.
//     - A caller that saw kAnswered takes the outcome and recycles: the responder is done (after
//       its RMW it only wakes the futex, which uses the address and never the memory, so a
//       wake that lands on a reused slot is a spurious wake-up its new caller re-checks).
//     - A caller that gives up does fetch_or(kCallerDone) with acq_rel; a responder that
//       answers does fetch_or(kAnswered). Whichever RMW comes second sees the other's bit and
//       recycles; the acquire half of it sees everything the other party did to the slot.
//  4. Reuse: recycling destroys the outcome, resets the word (relaxed) and pushes the index
//     onto the free list, whose release/acquire hand-off orders all of that before the next
//     caller's pop. A late response for a timed-out call therefore lands in the slot of the
//     call it belongs to (still owned by its Call) and is destroyed by the recycle; the next
//     caller of that slot starts from a clean word and never sees it. No generation counter is
//     needed because a slot is never reused while either party still holds it.
template <class Resp>
class ServiceSlots {
  public:
    enum class Outcome : std::uint8_t { none, value, error, dropped, closed };
    enum class Acquire : std::uint8_t { slot, timeout, closed };

    ServiceSlots(std::string name, const ServiceOptions& options)
        : name_(std::move(name)),
          options_(options),
          free_(std::bit_ceil(std::max<std::size_t>(options.max_in_flight, 2))) {
        slots_ = static_cast<Slot*>(
            allocate_aligned(options_.max_in_flight * sizeof(Slot), alignof(Slot)));
        for (std::size_t i = 0; i < options_.max_in_flight; ++i) {
            std::construct_at(&slots_[i]);
            const bool pushed = free_.try_push(static_cast<std::uint32_t>(i));
            RILL_ASSERT(pushed, "rill: the service's free list is smaller than its slot table");
            static_cast<void>(pushed);
        }
    }
    ServiceSlots(const ServiceSlots&) = delete;
    ServiceSlots& operator=(const ServiceSlots&) = delete;

    /// No Reply and no Call is left (each would hold the table or be dropped before it).
    ~ServiceSlots() {
        for (std::size_t i = 0; i < options_.max_in_flight; ++i) {
            if (slots_[i].outcome == Outcome::value) std::destroy_at(slots_[i].value());
            std::destroy_at(&slots_[i]);
        }
        free_aligned(slots_, options_.max_in_flight * sizeof(Slot), alignof(Slot));
    }

    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] const ServiceOptions& options() const noexcept { return options_; }
    [[nodiscard]] std::size_t max_in_flight() const noexcept { return options_.max_in_flight; }
    /// Slots in use at some moment during the call (exact only when nobody calls or answers).
    [[nodiscard]] std::size_t in_flight() const noexcept {
        return options_.max_in_flight - std::min(free_.size_approx(), options_.max_in_flight);
    }

    [[nodiscard]] bool closed() const noexcept { return closed_.load(); }
    /// Calls fail from now on; callers waiting for a slot return.
    void close() noexcept {
        closed_.store(true);
        space_.notify_all();
    }

    // ---- the caller's side -----------------------------------------------------------

    /// A free slot, or nothing when every slot is in use.
    [[nodiscard]] std::optional<std::uint32_t> try_acquire() noexcept {
        std::uint32_t index = 0;
        for (;;) {
            if (free_.try_pop(index)) return index;
            // The ring's "empty" is per slot: a pop fails while the next index is being pushed
            // even though it is counted in. That lasts one store: retry while one is counted.
            if (free_.size_approx() == 0) return std::nullopt;
            cpu_relax();
        }
    }

    /// Waits by the options' policy for a free slot until the deadline or until closed.
    [[nodiscard]] Acquire acquire_until(ServiceClock::time_point deadline, std::uint32_t& index) {
        std::optional<std::uint32_t> got;
        Waiter waiter(options_.wait);
        waiter.wait(
            space_,
            [&] {
                if (closed()) return true;
                got = try_acquire();
                return got.has_value();
            },
            deadline);
        if (got) {
            index = *got;
            return Acquire::slot;
        }
        return closed() ? Acquire::closed : Acquire::timeout;
    }

    [[nodiscard]] bool answered(std::uint32_t i) const noexcept {
        // acquire: pairs with the release half of the responder's fetch_or in publish(): seeing
        // kAnswered means seeing the outcome.
        return (slots_[i].state.load(std::memory_order_acquire) & kAnswered) != 0;
    }

    /// Waits for the answer by the options' policy until the deadline; true once answered.
    [[nodiscard]] bool await(std::uint32_t i, ServiceClock::time_point deadline) noexcept {
        if (answered(i)) return true;
        using Mode = WaitPolicy::Mode;
        const WaitPolicy& policy = options_.wait;
        const bool spin_forever = policy.mode == Mode::busy_spin;
        const std::uint32_t spins = policy.mode == Mode::park ? 0 : policy.spin;
        for (std::uint64_t k = 1; spin_forever || k <= spins; ++k) {
            cpu_relax();
            if (answered(i)) return true;
            if (k % kClockEvery == 0 && past(deadline)) return answered(i);
        }
        const bool yield_forever = policy.mode == Mode::spin_yield;
        const std::uint32_t yields = policy.mode == Mode::spin_park ? policy.yield : 0;
        for (std::uint64_t k = 0; yield_forever || k < yields; ++k) {
            std::this_thread::yield();
            if (answered(i)) return true;
            if (past(deadline)) return answered(i);
        }
        std::atomic<std::uint32_t>& word = slots_[i].state;
        for (;;) {
            // acquire: as in answered(); the RMW announces the sleeper (step 2 of the protocol).
            const std::uint32_t seen = word.fetch_or(kSleeping, std::memory_order_acquire);
            if ((seen & kAnswered) != 0) return true;
            if (!futex_wait_until(word, seen | kSleeping, deadline)) return answered(i);
            if (answered(i)) return true;
        }
    }

    /// The answer (after answered() said so): the value, or throws the stage's exception or a
    /// CallError. Recycles the slot either way.
    [[nodiscard]] Resp take(std::uint32_t i) {
        Slot& s = slots_[i];
        switch (s.outcome) {
            case Outcome::value: {
                const Recycler recycler{this, i};  // after the value has moved out, or threw
                return Resp(std::move(*s.value()));
            }
            case Outcome::error: {
                std::exception_ptr error = std::move(s.error);
                recycle(i);
                std::rethrow_exception(std::move(error));
            }
            case Outcome::closed:
                recycle(i);
                throw closed_error(name_);
            case Outcome::none:
            case Outcome::dropped:
                break;
        }
        recycle(i);
        throw dropped_error(name_);
    }

    /// The caller gives up before the answer (step 3): recycles if the answer came first.
    void abandon(std::uint32_t i) noexcept {
        // acq_rel: release, so the responder that recycles after seeing kCallerDone comes after
        // everything this caller did; acquire, so that this caller, when it recycles after
        // seeing kAnswered, sees the outcome it destroys. Pairs with the RMW in publish().
        const std::uint32_t prev = slots_[i].state.fetch_or(kCallerDone, std::memory_order_acq_rel);
        if ((prev & kAnswered) != 0) recycle(i);
    }

    // ---- the responder's side --------------------------------------------------------

    /// Answers with Resp(value); an exception from that conversion becomes the answer.
    template <class U>
    void answer_value(std::uint32_t i, U&& value) noexcept {
        Slot& s = slots_[i];
        try {
            // No Resp lives in the storage yet: construct into the raw bytes.
            std::construct_at(reinterpret_cast<Resp*>(s.storage), std::forward<U>(value));
        } catch (...) {
            answer_error(i, std::current_exception());
            return;
        }
        s.outcome = Outcome::value;
        publish(i);
    }
    void answer_error(std::uint32_t i, std::exception_ptr error) noexcept {
        slots_[i].error = std::move(error);
        slots_[i].outcome = Outcome::error;
        publish(i);
    }
    void answer_dropped(std::uint32_t i) noexcept {
        slots_[i].outcome = Outcome::dropped;
        publish(i);
    }
    void answer_closed(std::uint32_t i) noexcept {
        slots_[i].outcome = Outcome::closed;
        publish(i);
    }

  private:
    static constexpr std::uint32_t kAnswered = 1;
    static constexpr std::uint32_t kSleeping = 2;
    static constexpr std::uint32_t kCallerDone = 4;
    static constexpr std::uint64_t kClockEvery = 256;  // spins between deadline checks

    /// One line per slot, so callers waiting on neighbouring slots do not share one.
    struct alignas(kCacheLine) Slot {
        std::atomic<std::uint32_t> state{0};
        Outcome outcome = Outcome::none;  // written by the responder before kAnswered
        std::exception_ptr error;         // with Outcome::error
        alignas(Resp) unsigned char storage[sizeof(Resp)];  // with Outcome::value
        Resp* value() noexcept { return std::launder(reinterpret_cast<Resp*>(storage)); }
    };

    struct Recycler {
        ServiceSlots* slots;
        std::uint32_t index;
        ~Recycler() { slots->recycle(index); }
    };

    static bool past(ServiceClock::time_point deadline) noexcept {
        return deadline != ServiceClock::time_point::max() && ServiceClock::now() >= deadline;
    }

    /// Step 1 of the protocol, after the outcome is stored.
    void publish(std::uint32_t i) noexcept {
        std::atomic<std::uint32_t>& word = slots_[i].state;
        // acq_rel: release publishes the outcome to the caller's acquire load in answered() or
        // RMW in await(); acquire pairs with the caller's release in abandon(), so that the
        // recycle below comes after everything the caller did.
        const std::uint32_t prev = word.fetch_or(kAnswered, std::memory_order_acq_rel);
        if ((prev & kCallerDone) != 0) {
            recycle(i);
        } else if ((prev & kSleeping) != 0) {
            futex_wake_all(word);  // the address only: see step 3
        }
    }

    /// Step 4: both parties are done with slot i.
    void recycle(std::uint32_t i) noexcept {
        Slot& s = slots_[i];
        if (s.outcome == Outcome::value) std::destroy_at(s.value());
        s.outcome = Outcome::none;
        s.error = nullptr;
        // relaxed: published with the index by the release in the free list's push below, which
        // the next caller's pop acquires.
        s.state.store(0, std::memory_order_relaxed);
        // The ring holds every index, so it always has room; its "full" is per position and
        // lasts while a popper moves the previous lap's item out: retry.
        while (!free_.try_push(i))
            cpu_relax();
        // has_waiters() is the notifier's half of EventCount's protocol: its fence orders the
        // push before the read of the waiter count (pairs with prepare_wait in Waiter::wait).
        if (space_.has_waiters()) space_.notify_one();
    }

    const std::string name_;
    const ServiceOptions options_;
    Slot* slots_ = nullptr;
    MpmcRing<std::uint32_t> free_;  // indexes of free slots
    std::atomic<bool> closed_{false};
    EventCount space_;  // callers waiting for a free slot
};

// ---- a request in the flow ----------------------------------------------------------------

/// A request travelling through the service's segment: its current value and its slot. Whoever
/// destroys it while it still owns the slot answers its caller with CallError::dropped.
template <class T, class Resp>
class Call {
  public:
    Call() = default;
    Call(ServiceSlots<Resp>* slots, std::uint32_t index,
         T v) noexcept(std::is_nothrow_move_constructible_v<T>)
        : value(std::move(v)), slots_(slots), index_(index) {}
    /// The same request with the next stage's value: takes over `from`'s slot.
    template <class U>
    Call(Call<U, Resp>&& from, T v) noexcept(std::is_nothrow_move_constructible_v<T>)
        : value(std::move(v)), slots_(std::exchange(from.slots_, nullptr)), index_(from.index_) {}

    Call(Call&& other) noexcept
        : value(std::move(other.value)),
          slots_(std::exchange(other.slots_, nullptr)),
          index_(other.index_) {}
    Call& operator=(Call&& other) noexcept {
        if (this != &other) {
            drop();
            value = std::move(other.value);
            slots_ = std::exchange(other.slots_, nullptr);
            index_ = other.index_;
        }
        return *this;
    }
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;
    ~Call() { drop(); }

    /// Answers with the value converted to Resp (or the exception the conversion threw).
    void answer() noexcept {
        if (ServiceSlots<Resp>* slots = std::exchange(slots_, nullptr)) {
            slots->answer_value(index_, std::move(value));
        }
    }
    void fail(std::exception_ptr error) noexcept {
        if (ServiceSlots<Resp>* slots = std::exchange(slots_, nullptr)) {
            slots->answer_error(index_, std::move(error));
        }
    }
    void answer_closed() noexcept {
        if (ServiceSlots<Resp>* slots = std::exchange(slots_, nullptr)) {
            slots->answer_closed(index_);
        }
    }
    [[nodiscard]] bool owns_slot() const noexcept { return slots_ != nullptr; }

    T value{};

  private:
    template <class, class>
    friend class Call;

    void drop() noexcept {
        if (ServiceSlots<Resp>* slots = std::exchange(slots_, nullptr)) {
            slots->answer_dropped(index_);
        }
    }

    ServiceSlots<Resp>* slots_ = nullptr;
    std::uint32_t index_ = 0;
};

/// The service's source: the inlet queue, plus the slot table kept alive for the Calls in it.
template <class Req, class Resp>
class ServicePoller {
  public:
    using value_type = Call<Req, Resp>;

    ServicePoller(std::shared_ptr<ServiceSlots<Resp>> slots,
                  std::shared_ptr<InletQueue<Call<Req, Resp>>> queue)
        : slots_(std::move(slots)), inner_(std::move(queue)) {}

    void open(StageContext& context) { inner_.open(context); }
    SourceStatus poll(Emitter<value_type>& out, std::size_t max) { return inner_.poll(out, max); }
    /// The run stops or aborts: calls fail from now on, callers waiting for a slot return.
    void close_input() noexcept {
        slots_->close();
        inner_.close_input();
    }
    /// The run aborted: the queued Calls are destroyed, which answers them `dropped`.
    std::size_t abandon() noexcept { return inner_.abandon(); }

  private:
    // Declared first, destroyed last: the Calls in the queue point into the table.
    std::shared_ptr<ServiceSlots<Resp>> slots_;
    InletPoller<Call<Req, Resp>> inner_;
};

/// A map stage of the segment: applies f to the value, keeps the slot. If f throws, the caller
/// gets the exception and the stage counts the item errored (its policy is skip).
template <class T, class Resp, class F>
class ServiceMap {
  public:
    using Out = std::remove_cvref_t<std::invoke_result_t<F&, T&&>>;

    ServiceMap(F f, std::shared_ptr<ServiceSlots<Resp>> slots)
        : slots_(std::move(slots)), f_(std::move(f)) {}

    Call<Out, Resp> operator()(Call<T, Resp> call) {
        try {
            // f runs before the constructor takes the slot over.
            return Call<Out, Resp>(std::move(call), std::invoke(f_, std::move(call.value)));
        } catch (...) {
            call.fail(std::current_exception());
            throw;
        }
    }
    void open(StageContext& context) { run_open_hook(f_, context); }
    void close() { run_close_hook(f_); }

  private:
    std::shared_ptr<ServiceSlots<Resp>> slots_;  // outlives the stage's Calls (see the top)
    F f_;
};

/// The end of the segment: answers each caller with its value as a Resp.
template <class T, class Resp>
class ServiceRespond {
  public:
    explicit ServiceRespond(std::shared_ptr<ServiceSlots<Resp>> slots) : slots_(std::move(slots)) {}
    void operator()(Call<T, Resp> call) noexcept { call.answer(); }

  private:
    std::shared_ptr<ServiceSlots<Resp>> slots_;  // outlives the stage's Calls (see the top)
};

template <class Item, class Response>
struct response_type_mismatch {
    static_assert(dependent_false<Item>,
                  "rill: respond() needs the segment's items to convert to the service's "
                  "response type; see response_type_mismatch<item type, response type> above");
};

}  // namespace detail

// ---- the caller's handles -------------------------------------------------------------------

/// The future of one call's response. Move-only; get() once.
template <class Resp>
class Reply {
  public:
    Reply() = default;
    Reply(Reply&& other) noexcept
        : slots_(std::move(other.slots_)),
          deadline_(other.deadline_),
          timeout_(other.timeout_),
          index_(other.index_),
          state_(std::exchange(other.state_, State::empty)) {}
    Reply& operator=(Reply&& other) noexcept {
        if (this != &other) {
            release();
            slots_ = std::move(other.slots_);
            deadline_ = other.deadline_;
            timeout_ = other.timeout_;
            index_ = other.index_;
            state_ = std::exchange(other.state_, State::empty);
        }
        return *this;
    }
    Reply(const Reply&) = delete;
    Reply& operator=(const Reply&) = delete;
    /// Gives the call up if it is still waiting (its response, if any comes, is discarded).
    ~Reply() { release(); }

    /// Waits until the response or the deadline. Returns the response; throws the exception a
    /// stage threw for this request (the original object), or CallError (timeout, dropped,
    /// closed). Throws std::logic_error if the Reply is empty (moved from, or get() was called).
    [[nodiscard]] Resp get() {
        switch (state_) {
            case State::empty:
                throw std::logic_error(
                    "rill::Reply::get: this Reply holds no call (moved from, or get() was "
                    "already called)");
            case State::no_slot:
                state_ = State::empty;
                throw detail::no_slot_error(slots_->name(), timeout_, slots_->max_in_flight());
            case State::closed:
                state_ = State::empty;
                throw detail::closed_error(slots_->name());
            case State::waiting:
                break;
        }
        if (!slots_->answered(index_)) {
            if (detail::on_worker_thread() && detail::ServiceClock::now() < deadline_) {
                detail::throw_on_worker(slots_->name(), "Reply::get");
            }
            if (!slots_->await(index_, deadline_)) {
                state_ = State::empty;
                slots_->abandon(index_);
                throw detail::no_response_error(slots_->name(), timeout_);
            }
        }
        state_ = State::empty;
        return slots_->take(index_);
    }

    /// True once get() will not wait: the response (or error) is in, or the deadline passed.
    [[nodiscard]] bool ready() const noexcept {
        switch (state_) {
            case State::empty:
                return false;
            case State::waiting:
                return slots_->answered(index_) || detail::ServiceClock::now() >= deadline_;
            case State::no_slot:
            case State::closed:
                break;
        }
        return true;
    }

    /// Waits until ready() or until `until`, whichever comes first; returns ready().
    bool wait_until(detail::ServiceClock::time_point until) {
        if (state_ != State::waiting) return ready();
        if (slots_->answered(index_)) return true;
        if (detail::on_worker_thread()) detail::throw_on_worker(slots_->name(), "Reply::wait");
        static_cast<void>(slots_->await(index_, std::min(until, deadline_)));
        return ready();
    }
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> timeout) {
        return wait_until(detail::deadline_after(detail::ServiceClock::now(), timeout));
    }

    /// False once moved from or after get().
    [[nodiscard]] bool valid() const noexcept { return state_ != State::empty; }
    [[nodiscard]] detail::ServiceClock::time_point deadline() const noexcept { return deadline_; }

  private:
    template <class, class>
    friend class Service;
    enum class State : std::uint8_t { empty, waiting, no_slot, closed };

    Reply(std::shared_ptr<detail::ServiceSlots<Resp>> slots, State state, std::uint32_t index,
          detail::ServiceClock::time_point deadline, std::chrono::nanoseconds timeout) noexcept
        : slots_(std::move(slots)),
          deadline_(deadline),
          timeout_(timeout),
          index_(index),
          state_(state) {}

    void release() noexcept {
        if (state_ == State::waiting) slots_->abandon(index_);
        state_ = State::empty;
    }

    std::shared_ptr<detail::ServiceSlots<Resp>> slots_;
    detail::ServiceClock::time_point deadline_{};
    std::chrono::nanoseconds timeout_{-1};  // as asked, for messages; negative: a deadline
    std::uint32_t index_ = 0;
    State state_ = State::empty;
};

/// A request/response service over a flow segment (see the top of this file). Copies share one
/// service; every member may be called from any number of threads. On a worker thread of a
/// Runtime nothing waits: call() and call_until() throw std::logic_error when they would wait
/// for a slot, Reply::get() and wait_until() when they would wait for the response (waiting
/// there could wait for the worker itself). Stages use try_call() and poll Reply::ready().
template <class Req, class Resp>
class Service {
  public:
    /// Calls with a deadline of now + timeout. Never throws for the call's outcome: that is
    /// in the Reply (std::bad_alloc and the logic_error above excepted).
    template <class Rep, class Period>
    [[nodiscard]] Reply<Resp> call(Req request, std::chrono::duration<Rep, Period> timeout) const {
        const auto now = detail::ServiceClock::now();
        return start(std::move(request), detail::deadline_after(now, timeout),
                     detail::timeout_for_message(timeout), true)
            .value();  // never empty when waiting
    }
    [[nodiscard]] Reply<Resp> call_until(Req request,
                                         detail::ServiceClock::time_point deadline) const {
        return start(std::move(request), deadline, std::chrono::nanoseconds{-1}, true).value();
    }
    /// As call(), but empty at once when no slot is free or the service is closed.
    template <class Rep, class Period>
    [[nodiscard]] std::optional<Reply<Resp>> try_call(
        Req request, std::chrono::duration<Rep, Period> timeout) const {
        const auto now = detail::ServiceClock::now();
        return start(std::move(request), detail::deadline_after(now, timeout),
                     detail::timeout_for_message(timeout), false);
    }

    /// Calls fail with CallError::closed from now on; requests already accepted are answered,
    /// and the run can complete once they are (the service's source ends).
    void close() const noexcept {
        slots_->close();
        queue_->close();
    }
    [[nodiscard]] bool closed() const noexcept { return slots_->closed(); }
    /// Calls outstanding at some moment during the call (a request whose caller gave up counts
    /// until it leaves the flow).
    [[nodiscard]] std::size_t in_flight() const noexcept { return slots_->in_flight(); }
    [[nodiscard]] std::size_t max_in_flight() const noexcept { return slots_->max_in_flight(); }
    [[nodiscard]] const std::string& name() const noexcept { return slots_->name(); }

  private:
    friend class Flow;
    using Slots = detail::ServiceSlots<Resp>;
    using ReplyState = typename Reply<Resp>::State;

    Service(std::shared_ptr<Slots> slots,
            std::shared_ptr<detail::InletQueue<detail::Call<Req, Resp>>> queue) noexcept
        : slots_(std::move(slots)), queue_(std::move(queue)) {}

    std::optional<Reply<Resp>> start(Req&& request, detail::ServiceClock::time_point deadline,
                                     std::chrono::nanoseconds timeout, bool wait) const {
        const auto failed = [&](ReplyState state) {
            return wait ? std::optional<Reply<Resp>>(
                              Reply<Resp>(slots_, state, 0, deadline, timeout))
                        : std::nullopt;
        };
        if (slots_->closed()) return failed(ReplyState::closed);
        std::uint32_t index = 0;
        if (const std::optional<std::uint32_t> free = slots_->try_acquire()) {
            index = *free;
        } else if (!wait) {
            return std::nullopt;
        } else {
            if (detail::on_worker_thread()) detail::throw_on_worker(slots_->name(), "call");
            switch (slots_->acquire_until(deadline, index)) {
                case Slots::Acquire::slot:
                    break;
                case Slots::Acquire::timeout:
                    return failed(ReplyState::no_slot);
                case Slots::Acquire::closed:
                    return failed(ReplyState::closed);
            }
        }
        // The caller's half first: if the push throws, the Reply gives the call up and the
        // destroyed Call answers `dropped`, and the slot is recycled.
        Reply<Resp> reply(slots_, ReplyState::waiting, index, deadline, timeout);
        detail::Call<Req, Resp> call(slots_.get(), index, std::move(request));
        // The queue holds max_in_flight items and each holds a slot: only a close fails this.
        if (!queue_->try_push(std::move(call))) {
            call.answer_closed();
            if (!wait) return std::nullopt;  // ~Reply recycles the slot
        }
        return reply;
    }

    // Declared first, destroyed last: the Calls in the queue point into the table.
    std::shared_ptr<Slots> slots_;
    std::shared_ptr<detail::InletQueue<detail::Call<Req, Resp>>> queue_;
};

/// The requests of a service on their way through the flow: T is the current value's type.
/// map() transforms the value (each stage of the segment keeps the request's slot); respond()
/// ends the segment and answers each caller. StageOptions pass through (capacity, batch, worker,
/// replicas, ...) except on_error: service stages always skip, since the exception goes to the
/// caller that made the request.
template <class T, class Resp>
class CallStream {
  public:
    /// Out(T): one value per request. If f throws, that request's caller gets the exception
    /// from Reply::get() and the stage counts the item errored.
    template <class F>
    auto map(std::string name, F f, StageOptions options = {}) {
        if constexpr (!std::is_invocable_v<F&, T&&>) {
            [[maybe_unused]] detail::stage_input_mismatch<T, detail::first_parameter_t<F>> error;
            return *this;
        } else {
            using Out = std::remove_cvref_t<std::invoke_result_t<F&, T&&>>;
            static_assert(!std::is_void_v<Out>,
                          "rill: a service map must return its output; end the request stream "
                          "with respond()");
            static_assert(detail::check_item<Out>());
            options.on_error = ErrorPolicy::skip();
            Stream<detail::Call<Out, Resp>> next = stream_.map(
                std::move(name), detail::ServiceMap<T, Resp, F>(std::move(f), slots_), options);
            return CallStream<Out, Resp>(next, slots_);
        }
    }

    /// Ends the segment: each request's value, converted to Resp, answers its caller.
    void respond(std::string name, StageOptions options = {}) {
        if constexpr (!std::is_convertible_v<T, Resp>) {
            [[maybe_unused]] detail::response_type_mismatch<T, Resp> error;
        } else {
            options.on_error = ErrorPolicy::skip();
            stream_.sink(std::move(name), detail::ServiceRespond<T, Resp>(slots_), options);
        }
    }

  private:
    friend class Flow;
    template <class, class>
    friend class CallStream;

    CallStream(Stream<detail::Call<T, Resp>> stream,
               std::shared_ptr<detail::ServiceSlots<Resp>> slots) noexcept
        : stream_(stream), slots_(std::move(slots)) {}

    Stream<detail::Call<T, Resp>> stream_;
    std::shared_ptr<detail::ServiceSlots<Resp>> slots_;
};

/// The source stage is named after the service; `source_options` places it (worker, batch...).
/// The inlet in front of it holds max_in_flight requests: every queued request owns a slot, so
/// it never fills, and a call never waits for it.
template <class Req, class Resp, class Options>
ServiceEntry<Req, Resp> Flow::service(std::string name, Options options,
                                      StageOptions source_options) {
    static_assert(std::is_same_v<Options, ServiceOptions>,
                  "rill: Flow::service takes its options as a rill::ServiceOptions");
    static_assert(detail::check_item<Req>());
    static_assert(std::is_move_constructible_v<Resp> && std::is_nothrow_destructible_v<Resp>,
                  "rill: a service's response type must be move-constructible and "
                  "nothrow-destructible");
    detail::validate_service_options(name, options);
    auto slots = std::make_shared<detail::ServiceSlots<Resp>>(name, options);
    const InletOptions inlet{.capacity = options.max_in_flight, .wait = options.wait};
    auto queue = std::make_shared<detail::InletQueue<detail::Call<Req, Resp>>>(name, inlet);
    source_options.poll_interval = std::chrono::microseconds{0};  // pushes wake the source
    Stream<detail::Call<Req, Resp>> stream =
        source(std::move(name), detail::ServicePoller<Req, Resp>(slots, queue), source_options);
    return ServiceEntry<Req, Resp>{Service<Req, Resp>(slots, std::move(queue)),
                                   CallStream<Req, Resp>(stream, std::move(slots))};
}

}  // namespace rill
