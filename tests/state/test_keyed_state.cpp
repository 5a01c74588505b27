// KeyedState: agreement with std::unordered_map over random inserts, erases and finds (good and
// deliberately bad hashes, so probe runs are long and wrap around), copy and move, for_each,
// clear, reserve, lifetimes of non-trivial keys and values, and bad sizes.

#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "rill/state/keyed_state.hpp"
#include "support/lifetime_tracker.hpp"
#include "support/matchers.hpp"

namespace {

/// prefix followed by n in decimal. (Not `"k" + std::to_string(n)`: GCC 12 reports a bogus
/// -Wrestrict inside that operator+ once inlined.)
std::string numbered(std::string_view prefix, std::uint64_t n) {
    std::string s(prefix);
    s += std::to_string(n);
    return s;
}

template <class K>
K key_of(std::uint64_t n);
template <>
std::uint64_t key_of<std::uint64_t>(std::uint64_t n) {
    return n;
}
template <>
std::string key_of<std::string>(std::uint64_t n) {
    return numbered("key-", n);
}

/// A hash that puts every key into one of four tags: probe runs span most of the table and wrap
/// around its end, which is where backward-shift deletion can go wrong.
struct FourTags {
    std::uint64_t operator()(std::uint64_t k) const noexcept { return k & 3; }
    std::uint64_t operator()(const std::string& k) const noexcept { return k.size() & 3; }
};

/// Checks that state and ref hold the same keys and values, through find and through for_each.
template <class State, class Ref>
void check_same(const State& state, const Ref& ref) {
    REQUIRE(state.size() == ref.size());
    REQUIRE(state.empty() == ref.empty());
    std::size_t visited = 0;
    state.for_each([&](const auto& k, const auto& v) {
        ++visited;
        const auto it = ref.find(k);
        REQUIRE(it != ref.end());
        REQUIRE(v == it->second);
    });
    REQUIRE(visited == ref.size());
    for (const auto& [k, v] : ref) {
        const auto* found = state.find(k);
        REQUIRE(found != nullptr);
        REQUIRE(*found == v);
    }
}

/// Random operator[] (add), erase and find over a key space of `keys`, compared op by op.
template <class K, class State>
void run_against_reference(State& state, std::uint64_t keys, int ops, std::uint64_t seed) {
    std::unordered_map<K, std::uint64_t> ref;
    std::mt19937_64 rng(seed);
    for (int op = 0; op < ops; ++op) {
        const K key = key_of<K>(rng() % keys);
        const auto dice = rng() % 100;
        if (dice < 45) {
            const std::uint64_t add = rng() % 1000;
            std::uint64_t& v = state[key];
            v += add;
            ref[key] += add;
            REQUIRE(v == ref[key]);
        } else if (dice < 75) {
            REQUIRE(state.erase(key) == (ref.erase(key) == 1));
        } else {
            const std::uint64_t* found = state.find(key);
            const auto it = ref.find(key);
            REQUIRE((found != nullptr) == (it != ref.end()));
            if (found != nullptr) REQUIRE(*found == it->second);
        }
        REQUIRE(state.size() == ref.size());
        REQUIRE(state.size() <= state.capacity());
        if (op % 997 == 0) check_same(state, ref);
    }
    check_same(state, ref);
    // A copy holds the same; emptying the original by erase leaves the copy as it was.
    State copy = state;
    for (const auto& [k, v] : ref)
        REQUIRE(state.erase(k));
    CHECK(state.empty());
    check_same(copy, ref);
}

}  // namespace

TEMPLATE_TEST_CASE("KeyedState agrees with std::unordered_map over random operations",
                   "[keyed_state]", std::uint64_t, std::string) {
    const std::size_t expected = GENERATE(0u, 16u, 1024u);
    CAPTURE(expected);
    SECTION("with rill::hash") {
        rill::KeyedState<TestType, std::uint64_t> state(expected);
        run_against_reference<TestType>(state, 3000, 60'000, 1234 + expected);
    }
    SECTION("with a hash of four values: long runs that wrap around") {
        rill::KeyedState<TestType, std::uint64_t, FourTags> state(expected);
        run_against_reference<TestType>(state, 200, 20'000, 99 + expected);
    }
    SECTION("12 keys coming and going: from expected 0 the table runs at its 3/4 limit") {
        rill::KeyedState<TestType, std::uint64_t> state(expected);
        run_against_reference<TestType>(state, 12, 20'000, 5 + expected);
    }
}

TEST_CASE("KeyedState value-initializes new values and keeps them in place", "[keyed_state]") {
    rill::KeyedState<std::uint64_t, int> counts(8);
    CHECK(counts.empty());
    CHECK(counts.find(3) == nullptr);
    CHECK_FALSE(counts.erase(3));
    CHECK(counts[3] == 0);
    ++counts[3];
    ++counts[3];
    CHECK(counts[3] == 2);
    CHECK(counts.size() == 1);
    const auto& view = counts;
    REQUIRE(view.find(3) != nullptr);
    CHECK(*view.find(3) == 2);
    static_assert(std::is_same_v<decltype(view.find(3)), const int*>);
    static_assert(noexcept(counts.find(3))&& noexcept(view.find(3)));
}

TEST_CASE("KeyedState copies and moves", "[keyed_state]") {
    using State = rill::KeyedState<std::string, std::vector<int>>;
    static_assert(std::is_copy_constructible_v<State> && std::is_copy_assignable_v<State>);
    static_assert(std::is_nothrow_move_constructible_v<State> &&
                  std::is_nothrow_move_assignable_v<State>);
    State a(4);
    for (int i = 0; i < 100; ++i)
        a[numbered("k", static_cast<std::uint64_t>(i))].assign(3, i);

    State b = a;  // what each replica of a stage gets
    REQUIRE(b.size() == 100);
    CHECK(b.capacity() == a.capacity());
    b["k7"].push_back(70);
    CHECK(b.erase("k8"));
    CHECK(a["k7"] == std::vector<int>{7, 7, 7});  // the original is independent of the copy
    CHECK(a.find("k8") != nullptr);
    for (int i = 0; i < 100; ++i) {
        if (i == 8) continue;
        REQUIRE(b.find(numbered("k", static_cast<std::uint64_t>(i))) != nullptr);
    }

    State c(1);
    c["other"] = {1};
    c = a;  // copy assignment replaces the contents
    CHECK(c.size() == 100);
    CHECK(c.find("other") == nullptr);
    const State& self = c;
    c = self;  // self-assignment is harmless
    CHECK(c.size() == 100);

    State d = std::move(c);  // takes the table; the source is empty and still usable
    CHECK(d.size() == 100);
    CHECK(c.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
    CHECK(c.capacity() == 0);
    CHECK(c.find("k1") == nullptr);
    c["again"].push_back(1);
    CHECK(c.size() == 1);

    State e(8);
    e["x"] = {1};
    e = std::move(d);
    CHECK(e.size() == 100);
    CHECK(*e.find("k42") == std::vector<int>{42, 42, 42});
    CHECK(d.empty());  // NOLINT(bugprone-use-after-move)

    swap(e, c);
    CHECK(c.size() == 100);
    CHECK(e.size() == 1);

    // A copy of an empty table without storage stays without storage.
    const State none(0);
    const State none_copy = none;
    CHECK(none_copy.capacity() == 0);
}

TEST_CASE("KeyedState with a move-only value is movable but not copyable", "[keyed_state]") {
    using State = rill::KeyedState<std::uint64_t, std::unique_ptr<int>>;
    static_assert(!std::is_copy_constructible_v<State>);
    static_assert(std::is_nothrow_move_constructible_v<State>);
    State s(0);
    for (std::uint64_t i = 0; i < 1000; ++i)
        s[i] = std::make_unique<int>(static_cast<int>(i));
    State t = std::move(s);
    REQUIRE(t.find(999) != nullptr);
    CHECK(**t.find(999) == 999);
}

TEST_CASE("KeyedState constructs, moves and destroys keys and values exactly once",
          "[keyed_state]") {
    using rill::test::Tracked;
    Tracked::counters.reset();
    {
        rill::KeyedState<std::string, Tracked> s(0);  // grows from nothing, many times
        for (int i = 0; i < 5000; ++i)
            s[std::to_string(i)].value = static_cast<std::uint64_t>(i);
        for (int i = 0; i < 5000; i += 3)
            REQUIRE(s.erase(std::to_string(i)));
        CHECK(Tracked::counters.live() == static_cast<long>(s.size()));
        auto copy = s;
        CHECK(Tracked::counters.live() == 2 * static_cast<long>(s.size()));
        copy.clear();
        CHECK(Tracked::counters.live() == static_cast<long>(s.size()));
        for (int i = 1; i < 5000; i += 3)
            REQUIRE(s.find(std::to_string(i))->value == std::uint64_t(i));
        auto moved = std::move(s);
        CHECK(Tracked::counters.live() == static_cast<long>(moved.size()));
    }
    CHECK(Tracked::counters.live() == 0);
    CHECK(Tracked::counters.bad_destroy == 0);
}

TEST_CASE("for_each visits every key once", "[keyed_state]") {
    rill::KeyedState<std::uint64_t, std::uint64_t> s(16);
    for (std::uint64_t i = 0; i < 3000; ++i)
        s[i * 7] = i;
    for (std::uint64_t i = 0; i < 3000; i += 2)
        s.erase(i * 7);
    std::map<std::uint64_t, int> visits;
    s.for_each([&](const std::uint64_t& k, std::uint64_t& v) {
        ++visits[k];
        CHECK(v == k / 7);
        v += 1;  // the non-const overload hands out the value for update
    });
    REQUIRE(visits.size() == 1500);
    for (const auto& [k, n] : visits) {
        REQUIRE(n == 1);
        REQUIRE(k % 14 == 7);
    }
    std::size_t seen = 0;
    std::as_const(s).for_each([&](const std::uint64_t& k, const std::uint64_t& v) {
        ++seen;
        CHECK(v == k / 7 + 1);
    });
    CHECK(seen == 1500);
}

TEST_CASE("clear keeps capacity, and reserve makes room that inserting does not change",
          "[keyed_state]") {
    rill::KeyedState<std::string, int> s(100);
    CHECK(s.capacity() >= 100);
    for (int i = 0; i < 100; ++i)
        s[std::to_string(i)] = i;
    const std::size_t cap = s.capacity();
    s.clear();
    CHECK(s.empty());
    CHECK(s.capacity() == cap);
    CHECK(s.find("5") == nullptr);
    s["5"] = 5;  // usable after clear
    CHECK(*s.find("5") == 5);

    const std::size_t n = GENERATE(1u, 7u, 8u, 1000u, 100'000u);
    CAPTURE(n);
    rill::KeyedState<std::uint64_t, std::uint64_t> r(0);
    CHECK(r.capacity() == 0);
    r.reserve(n);
    const std::size_t reserved = r.capacity();
    CHECK(reserved >= n);
    CHECK(reserved < 4 * n + 8);
    for (std::uint64_t i = 0; i < n; ++i) {
        r[i * 0x10001] = i;
        REQUIRE(r.capacity() == reserved);  // no growth, hence no allocation
    }
    r.reserve(n / 2);  // never shrinks
    CHECK(r.capacity() == reserved);
    r[~std::uint64_t{0}];  // one more than reserved may grow, never lose entries
    CHECK(r.size() == n + 1);
    for (std::uint64_t i = 0; i < n; ++i)
        REQUIRE(*r.find(i * 0x10001) == i);

    // The constructor's expected_keys works like reserve.
    rill::KeyedState<std::uint64_t, int> sized(n);
    const std::size_t sized_cap = sized.capacity();
    for (std::uint64_t i = 0; i < n; ++i)
        sized[i];
    CHECK(sized.capacity() == sized_cap);
}

TEST_CASE("KeyedState with string keys finds by string_view and literal", "[keyed_state]") {
    rill::KeyedState<std::string, int> s;
    s["alpha"] = 1;
    s[std::string("beta")] = 2;  // rvalue key: moved in
    const std::string_view view = "alpha";
    REQUIRE(s.find(view) != nullptr);
    CHECK(*s.find(view) == 1);
    CHECK(*s.find("beta") == 2);
    CHECK(std::as_const(s).find(std::string_view("gamma")) == nullptr);
    CHECK(s.erase(std::string_view("beta")));
    CHECK(s.size() == 1);
}

TEST_CASE("KeyedState rejects absurd sizes with a message naming the value", "[keyed_state]") {
    using State = rill::KeyedState<std::uint64_t, int>;
    RILL_CHECK_THROWS_WITH_TEXT(State(std::size_t{1} << 40), std::invalid_argument,
                                "rill::KeyedState: expected_keys 1099511627776 is too large: "
                                "expected at most 4294967296 keys");
    RILL_CHECK_THROWS_WITH_TEXT(State(SIZE_MAX), std::invalid_argument,
                                "expected_keys 18446744073709551615");
    State s(0);
    RILL_CHECK_THROWS_WITH_TEXT(s.reserve(std::size_t{1} << 33), std::invalid_argument,
                                "rill::KeyedState::reserve: n 8589934592 is too large");
    CHECK(s.capacity() == 0);
    CHECK_NOTHROW(State(0));
    CHECK_NOTHROW(State(1));
}

TEST_CASE("KeyedState<const char*, V> compares keys by their bytes, as rill::hash hashes them",
          "[keyed_state]") {
    rill::KeyedState<const char*, int> counts(16);
    const std::string a = "alpha";
    const std::string b = "alpha";  // equal bytes, another address
    REQUIRE(a.c_str() != b.c_str());
    ++counts[a.c_str()];
    ++counts[b.c_str()];
    CHECK(counts.size() == 1);
    const int* found = counts.find("alpha");
    REQUIRE(found != nullptr);
    CHECK(*found == 2);
    CHECK(counts.find("beta") == nullptr);
    CHECK(counts.erase(b.c_str()));
    CHECK(counts.empty());
}
