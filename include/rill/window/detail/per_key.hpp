#pragma once
// PerKey<K, S>: a window stage's state per key, bounded by max_keys. Keyed: a KeyedState of
// std::optional<S> (S need not be default-constructible). Not keyed (K = NoKey): one S, without
// hashing, so that a window on a plain stream costs nothing for keys.

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "rill/state/keyed_state.hpp"
#include "rill/window/windowed.hpp"

namespace rill::detail {

[[noreturn]] inline void too_many_keys(std::string_view stage, std::size_t max_keys) {
    throw std::length_error("rill: window stage '" + std::string(stage) + "': a key beyond its " +
                            std::to_string(max_keys) +
                            " keys with open windows (max_keys); raise it in the window spec or "
                            "let fewer keys through");
}

template <class K, class S>
class PerKey {
  public:
    explicit PerKey(std::size_t max_keys)
        : states_(0), max_keys_(max_keys) {}  // storage on the first key

    [[nodiscard]] S* find(const K& key) noexcept {
        std::optional<S>* s = states_.find(key);
        return s == nullptr ? nullptr : &**s;
    }
    /// The key's state, made by make() if absent. Throws std::length_error past max_keys.
    template <class Make>
    S& get(const K& key, std::string_view stage, Make&& make) {
        if (std::optional<S>* s = states_.find(key)) return **s;
        if (states_.size() == max_keys_) too_many_keys(stage, max_keys_);
        std::optional<S>& s = states_[key];
        try {
            s.emplace(make());
        } catch (...) {
            states_.erase(key);
            throw;
        }
        return *s;
    }
    void erase(const K& key) noexcept { states_.erase(key); }
    /// f(const K&, S&) for every key; f must not add or erase keys.
    template <class F>
    void for_each(F&& f) {
        states_.for_each([&](const K& key, std::optional<S>& s) { f(key, *s); });
    }
    void clear() noexcept { states_.clear(); }
    [[nodiscard]] std::size_t size() const noexcept { return states_.size(); }

  private:
    KeyedState<K, std::optional<S>> states_;
    std::size_t max_keys_;
};

template <class S>
class PerKey<NoKey, S> {
  public:
    explicit PerKey(std::size_t) noexcept {}

    [[nodiscard]] S* find(NoKey) noexcept { return state_ ? &*state_ : nullptr; }
    template <class Make>
    S& get(NoKey, std::string_view, Make&& make) {
        if (!state_) state_.emplace(make());
        return *state_;
    }
    void erase(NoKey) noexcept { state_.reset(); }
    template <class F>
    void for_each(F&& f) {
        if (state_) f(NoKey{}, *state_);
    }
    void clear() noexcept { state_.reset(); }
    [[nodiscard]] std::size_t size() const noexcept { return state_ ? 1 : 0; }

  private:
    std::optional<S> state_;
};

}  // namespace rill::detail
