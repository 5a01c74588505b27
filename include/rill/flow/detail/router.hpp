#pragma once
// Routers: a stream that splits. A router is chained after the emitter of the stage that makes
// the stream, so it runs on that stage's task and costs no hop. It writes each item into one of
// its branch emitters (bound to rings, or chained to a stage on the same task):
//   ChunkRouter      deals chunks of C items to replicas, round robin or to the least loaded;
//   KeyRouter        sends every item with one key to one replica (hash of the key mod n);
//   BroadcastRouter  copies every item to each consumer of the stream.
// A full ring leaves items in that branch's overflow; the task drains every branch before it
// takes more input, so the slowest branch backpressures the producer.

#include <cstddef>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "rill/flow/detail/emitter_binding.hpp"
#include "rill/flow/detail/run_state.hpp"
#include "rill/flow/emitter.hpp"
#include "rill/flow/stage_options.hpp"
#include "rill/state/hash.hpp"

namespace rill::detail {

class RouterBase {
  public:
    RouterBase() = default;
    RouterBase(const RouterBase&) = delete;
    RouterBase& operator=(const RouterBase&) = delete;
    virtual ~RouterBase() = default;
};

template <class T>
class Router : public RouterBase, public Consumer<T> {
  public:
    explicit Router(std::size_t branches)
        : branches_(std::make_unique<Emitter<T>[]>(branches)), count_(branches) {}

    [[nodiscard]] std::size_t size() const noexcept { return count_; }
    [[nodiscard]] Emitter<T>& branch(std::size_t j) noexcept { return branches_[j]; }

    /// Every branch gets the watermark, after what it got before: a replica's stream, or a
    /// broadcast consumer's, is the whole stream as far as event time goes.
    void on_watermark(Watermark watermark) noexcept final {
        for (std::size_t j = 0; j < count_; ++j)
            branches_[j].emit_watermark(watermark);
    }

  protected:
    /// Hands over what each branch got from this batch.
    void end_batches() noexcept {
        for (std::size_t j = 0; j < count_; ++j)
            EmitterBinding<T>::end_batch(branches_[j]);
    }

  private:
    std::unique_ptr<Emitter<T>[]> branches_;
    std::size_t count_;
};

template <class T>
class ChunkRouter final : public Router<T> {
  public:
    ChunkRouter(std::size_t branches, std::size_t chunk, Distribution distribution)
        : Router<T>(branches), chunk_(chunk), distribution_(distribution) {}

    /// Least loaded: the ring behind branch j, to read how full it is.
    void watch(std::size_t j, const EdgeBase& edge) {
        if (edges_.size() <= j) edges_.resize(j + 1);
        edges_[j] = &edge;
    }

    void consume(std::span<T> items) noexcept override {
        std::size_t i = 0;
        while (i < items.size()) {
            const std::size_t take = std::min(items.size() - i, chunk_ - dealt_);
            this->branch(current_).emit_n(take, [&]() noexcept { return std::move(items[i++]); });
            dealt_ += take;
            if (dealt_ == chunk_) {
                dealt_ = 0;
                current_ = next();
            }
        }
        this->end_batches();
    }

  private:
    std::size_t next() const noexcept {
        const std::size_t n = this->size();
        if (distribution_ == Distribution::round_robin) return (current_ + 1) % n;
        // The most free room wins; ties go to the first after the current one.
        std::size_t best = (current_ + 1) % n;
        std::size_t best_depth = std::numeric_limits<std::size_t>::max();
        for (std::size_t k = 1; k <= n; ++k) {
            const std::size_t j = (current_ + k) % n;
            const std::size_t depth = edges_[j]->depth() + edges_[j]->overflow();
            if (depth < best_depth) {
                best = j;
                best_depth = depth;
            }
        }
        return best;
    }

    std::size_t chunk_;
    Distribution distribution_;
    std::vector<const EdgeBase*> edges_;
    std::size_t current_ = 0;
    std::size_t dealt_ = 0;  // items of the current chunk dealt so far
};

template <class T, class KeyFn>
class KeyRouter final : public Router<T> {
  public:
    using Key = std::remove_cvref_t<std::invoke_result_t<const KeyFn&, const T&>>;

    KeyRouter(std::size_t branches, KeyFn key, RunState& run, std::string stage)
        : Router<T>(branches), key_(std::move(key)), run_(run), stage_(std::move(stage)) {}

    void consume(std::span<T> items) noexcept override {
        const std::size_t n = this->size();
        for (T& item : items) {
            std::size_t j = 0;
            try {
                j = static_cast<std::size_t>(hash<Key>{}(std::invoke(key_, std::as_const(item))) %
                                             n);
            } catch (...) {
                // The item still goes somewhere (replica 0), so it stays accounted for; the run
                // fails with the key function's error.
                run_.fail(stage_ + " (key_by)", std::current_exception());
            }
            this->branch(j).emit(std::move(item));
        }
        this->end_batches();
    }

  private:
    KeyFn key_;
    RunState& run_;
    std::string stage_;
};

template <class T>
class BroadcastRouter final : public Router<T> {
  public:
    BroadcastRouter(std::size_t branches, RunState& run, std::string stage)
        : Router<T>(branches), run_(run), stage_(std::move(stage)) {}

    void consume(std::span<T> items) noexcept override {
        if constexpr (std::is_copy_constructible_v<T>) {
            const std::size_t last = this->size() - 1;
            for (std::size_t j = 0; j < last; ++j) {
                Emitter<T>& out = this->branch(j);
                for (const T& item : items) {
                    try {
                        out.emit(T(item));
                    } catch (...) {
                        // A copy that throws fails the run; the branch misses that item, which
                        // the producer has already counted out: the run is cancelled, not lost.
                        run_.fail(stage_ + " (broadcast copy)", std::current_exception());
                    }
                }
            }
            std::size_t i = 0;
            this->branch(last).emit_n(items.size(),
                                      [&]() noexcept { return std::move(items[i++]); });
            this->end_batches();
        } else {
            static_cast<void>(items);
            RILL_ASSERT(false, "rill: broadcast of an item type that cannot be copied");
        }
    }

  private:
    RunState& run_;
    std::string stage_;
};

}  // namespace rill::detail
