#pragma once
// ServiceSlots<Resp>, a service's slot table, and Call<T, Resp>, a request travelling through the
// flow with its slot. The slot protocol and why it is correct are below, next to the table.
// Calls point into the table without owning it; why the table outlives every Call: "Lifetimes"
// at the top of rill/service/service.hpp.

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "rill/detail/assert.hpp"
#include "rill/detail/cache_line.hpp"
#include "rill/detail/cpu_relax.hpp"
#include "rill/detail/memory.hpp"
#include "rill/ring/mpmc_ring.hpp"
#include "rill/service/call_error.hpp"
#include "rill/service/detail/service_clock.hpp"
#include "rill/service/service_options.hpp"
#include "rill/wait/detail/futex.hpp"
#include "rill/wait/event_count.hpp"
#include "rill/wait/wait_policy.hpp"
#include "rill/wait/waiter.hpp"

namespace rill::detail {

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

    /// A free slot, or nothing when every slot is in use (or is being given back).
    [[nodiscard]] std::optional<std::uint32_t> try_acquire() noexcept {
        std::uint32_t index = 0;
        for (int round = 0; round < kPopRetries; ++round) {
            if (free_.try_pop(index)) return index;
            // The ring's "empty" is per slot: a pop fails while the next index is being pushed
            // even though it is counted in. That usually lasts one store, so retry while one is
            // counted, but not without bound: the pusher may be preempted mid-push. Then this
            // reports no slot; a caller waiting in acquire_until is notified after the push.
            if (free_.size_approx() == 0) return std::nullopt;
            cpu_relax();
        }
        return std::nullopt;
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
    static constexpr int kPopRetries = 64;
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

}  // namespace rill::detail
