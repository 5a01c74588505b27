// rill::hash: spread of sequential integers, strided integers and short strings over small
// bucket counts (h % n and h & (n - 1), as replica routing and KeyedState use it), string and
// string_view agreement, and the std::hash fallback. Deterministic: fixed inputs, no timing.

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <memory_resource>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "rill/state/hash.hpp"

namespace {

/// Pearson's chi-square statistic of the bucket counts against a uniform spread.
double chi_square(const std::vector<std::size_t>& counts, std::size_t total) {
    const double expected = static_cast<double>(total) / static_cast<double>(counts.size());
    double chi = 0;
    for (const std::size_t c : counts) {
        const double d = static_cast<double>(c) - expected;
        chi += d * d / expected;
    }
    return chi;
}

/// A bound a uniform spread exceeds with probability well under 1e-6 (mean df, deviation
/// sqrt(2 df); the small-df tail is heavier, hence the constant). Fixed inputs make the test
/// deterministic: either the hash spreads these keys or it does not.
double chi_square_bound(std::size_t buckets) {
    const auto df = static_cast<double>(buckets - 1);
    return df + 7.0 * std::sqrt(2.0 * df) + 15.0;
}

/// Buckets the hashes into n by h % n (and, for powers of two, checks h & (n - 1) agrees), then
/// checks the chi-square bound and that no bucket is more than 6 standard deviations (about
/// sqrt(expected)) from the expected count.
void check_spread(const std::vector<std::uint64_t>& hashes, std::size_t n) {
    std::vector<std::size_t> counts(n, 0);
    for (const std::uint64_t h : hashes) {
        const std::size_t b = static_cast<std::size_t>(h % n);
        if (std::has_single_bit(n)) REQUIRE(b == static_cast<std::size_t>(h & (n - 1)));
        ++counts[b];
    }
    const double chi = chi_square(counts, hashes.size());
    const double expected = static_cast<double>(hashes.size()) / static_cast<double>(n);
    double worst = 0;  // in standard deviations
    for (const std::size_t c : counts) {
        worst = std::max(worst, std::abs(static_cast<double>(c) - expected) / std::sqrt(expected));
    }
    const auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
    CAPTURE(n, chi, chi_square_bound(n), worst, *lo, *hi);
    CHECK(chi < chi_square_bound(n));
    CHECK(worst < 6.0);
}

/// prefix followed by n in decimal. (Not `"key-" + std::to_string(n)`: GCC 12 reports a bogus
/// -Wrestrict inside that operator+ once inlined.)
std::string numbered(std::string_view prefix, std::size_t n) {
    std::string s(prefix);
    s += std::to_string(n);
    return s;
}

const std::vector<std::size_t> kBucketCounts = {2, 3, 4, 10, 16, 64};

template <class K, class Make>
std::vector<std::uint64_t> hashes_of(std::size_t count, Make make) {
    std::vector<std::uint64_t> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
        out.push_back(rill::hash<K>{}(make(i)));
    return out;
}

enum class Color : std::uint8_t { red, green, blue };
enum Plain { plain_a = -1, plain_b = 7 };

struct WithStdHash {
    int id;
};

}  // namespace

template <>
struct std::hash<WithStdHash> {
    std::size_t operator()(const WithStdHash& w) const noexcept {
        return static_cast<std::size_t>(w.id);  // identity, like libstdc++ on integers
    }
};

TEST_CASE("sequential integers spread evenly over small bucket counts", "[hash]") {
    const auto seq = hashes_of<std::uint64_t>(100'000, [](std::size_t i) { return i; });
    const auto seq32 =
        hashes_of<std::int32_t>(100'000, [](std::size_t i) { return static_cast<int>(i); });
    // Ids that share their low bits (multiples of 64, like aligned addresses or scaled ids).
    const auto strided =
        hashes_of<std::uint64_t>(100'000, [](std::size_t i) { return std::uint64_t{i} << 6; });
    for (const std::size_t n : kBucketCounts) {
        check_spread(seq, n);
        check_spread(seq32, n);
        check_spread(strided, n);
    }
    std::unordered_set<std::uint64_t> distinct(seq.begin(), seq.end());
    CHECK(distinct.size() == seq.size());  // the mix is a bijection
}

TEST_CASE("short strings key-0 .. key-9999 spread evenly and do not collide", "[hash]") {
    const auto keys =
        hashes_of<std::string>(10'000, [](std::size_t i) { return numbered("key-", i); });
    for (const std::size_t n : kBucketCounts)
        check_spread(keys, n);
    std::unordered_set<std::uint64_t> distinct(keys.begin(), keys.end());
    CHECK(distinct.size() == keys.size());

    // Longer keys, one per length class of the byte hash (<4, <8, <=16, <=32, longer).
    for (const std::string prefix : {"", "k", "id:", "customer/", "tenant-0042/customer/",
                                     "a-much-longer-prefix-that-needs-the-32-byte-lanes/"}) {
        CAPTURE(prefix);
        const auto h =
            hashes_of<std::string>(10'000, [&](std::size_t i) { return numbered(prefix, i); });
        for (const std::size_t n : kBucketCounts)
            check_spread(h, n);
        CHECK(std::unordered_set<std::uint64_t>(h.begin(), h.end()).size() == h.size());
    }
}

TEST_CASE("the keys of one replica still spread over the top bits", "[hash]") {
    // Routing takes h % replicas; KeyedState in replica 1 of 4 only sees keys with h % 4 == 1
    // and places them by the top bits of h * 2^64/phi. Those must not be constant too.
    std::vector<std::uint64_t> top;
    for (std::uint64_t i = 0; top.size() < 50'000; ++i) {
        const std::uint64_t h = rill::hash<std::uint64_t>{}(i);
        if (h % 4 == 1) top.push_back((h * 0x9e3779b97f4a7c15) >> 58);
    }
    check_spread(top, 64);
}

TEST_CASE("every byte and the length reach the string hash", "[hash]") {
    std::mt19937_64 rng(42);
    std::vector<std::uint64_t> seen;
    // Same bytes, every length from 0 to 300: all distinct.
    std::string bytes(300, '\0');
    for (char& c : bytes)
        c = static_cast<char>(rng());
    for (std::size_t len = 0; len <= bytes.size(); ++len) {
        seen.push_back(rill::hash<std::string_view>{}(std::string_view(bytes).substr(0, len)));
    }
    CHECK(std::unordered_set<std::uint64_t>(seen.begin(), seen.end()).size() == seen.size());

    // Flipping any one bit changes about half of the output bits, for every length class.
    for (const std::size_t len : {1u, 3u, 5u, 8u, 13u, 16u, 17u, 31u, 33u, 64u, 100u}) {
        CAPTURE(len);
        std::string s = bytes.substr(0, len);
        const std::uint64_t base = rill::hash<std::string>{}(s);
        double changed = 0;
        for (std::size_t bit = 0; bit < len * 8; ++bit) {
            s[bit / 8] = static_cast<char>(s[bit / 8] ^ (1 << (bit % 8)));
            const std::uint64_t h = rill::hash<std::string>{}(s);
            s[bit / 8] = static_cast<char>(s[bit / 8] ^ (1 << (bit % 8)));
            REQUIRE(h != base);
            changed += std::popcount(h ^ base);
        }
        const double mean = changed / static_cast<double>(len * 8);
        CHECK(mean > 24.0);
        CHECK(mean < 40.0);
    }
}

TEST_CASE("std::string, std::string_view and const char* hash the same bytes alike", "[hash]") {
    std::mt19937_64 rng(7);
    for (std::size_t len = 0; len <= 100; ++len) {
        CAPTURE(len);
        std::string s(len, '\0');
        for (char& c : s)
            c = static_cast<char>('a' + rng() % 26);
        const std::uint64_t h = rill::hash<std::string>{}(s);
        CHECK(rill::hash<std::string_view>{}(s) == h);
        CHECK(rill::hash<const char*>{}(s.c_str()) == h);
        CHECK(rill::hash<char*>{}(s.data()) == h);
        CHECK(rill::hash<std::pmr::string>{}(std::pmr::string(s)) == h);
        CHECK(rill::hash<const std::string>{}(s) == h);
        CHECK(rill::hash_key(s) == h);
        CHECK(rill::hash_key(std::string_view(s)) == h);
        // Transparent: hash<std::string> takes a view or a C string without building a string.
        CHECK(rill::hash<std::string>{}(std::string_view(s)) == h);
        CHECK(rill::hash<std::string>{}(s.c_str()) == h);

        // A view into an exactly sized heap buffer, at every alignment: the loads stay inside
        // it (ASan builds would report a read past the end) and the result does not depend on
        // where the bytes sit.
        for (std::size_t offset = 0; offset < 8; ++offset) {
            const auto buf = std::make_unique<char[]>(offset + len);
            std::copy(s.begin(), s.end(), buf.get() + offset);
            CHECK(rill::hash<std::string_view>{}(std::string_view(buf.get() + offset, len)) == h);
        }
    }
    CHECK(rill::hash_key("abc") == rill::hash<std::string>{}("abc"));
    CHECK(rill::hash<const char*>{}(nullptr) == rill::hash<std::string_view>{}(""));
    CHECK(rill::hash<std::string>{}("abc") != rill::hash<std::string>{}("abd"));
    CHECK(rill::hash<std::string>{}(std::string_view("ab\0c", 4)) !=
          rill::hash<std::string>{}(std::string_view("ab\0d", 4)));
}

TEST_CASE("integers, enums, pointers and std::hash types all get the mix", "[hash]") {
    static_assert(std::is_nothrow_invocable_r_v<std::uint64_t, rill::hash<int>, const int&>);
    static_assert(
        std::is_nothrow_invocable_r_v<std::uint64_t, rill::hash<std::string>, const std::string&>);
    static_assert(std::is_same_v<decltype(rill::hash_key(1)), std::uint64_t>);

    // Integers hash by value, whatever their width or signedness.
    CHECK(rill::hash<std::uint32_t>{}(5) == rill::hash<std::uint64_t>{}(5));
    CHECK(rill::hash<int>{}(-1) == rill::hash<long long>{}(-1));
    CHECK(rill::hash<std::uint64_t>{}(0) != rill::hash<std::uint64_t>{}(1));
    CHECK(rill::hash<bool>{}(true) != rill::hash<bool>{}(false));

    CHECK(rill::hash<Color>{}(Color::green) == rill::hash<std::uint8_t>{}(1));
    CHECK(rill::hash<Plain>{}(plain_a) == rill::hash<int>{}(-1));
    CHECK(rill::hash<Color>{}(Color::red) != rill::hash<Color>{}(Color::blue));

    // Pointers into an array of 64-byte objects: the low 6 bits are always zero before the mix.
    struct alignas(64) Line {
        char bytes[64];
    };
    std::vector<Line> lines(20'000);
    std::vector<std::uint64_t> ptr_hashes;
    for (const Line& l : lines)
        ptr_hashes.push_back(rill::hash<const Line*>{}(&l));
    for (const std::size_t n : kBucketCounts)
        check_spread(ptr_hashes, n);

    // std::hash types: std::hash, then the mix, so an identity std::hash still spreads.
    CHECK(rill::hash<WithStdHash>{}(WithStdHash{3}) == rill::detail::mix64(3));
    const auto wrapped =
        hashes_of<WithStdHash>(50'000, [](std::size_t i) { return WithStdHash{int(i)}; });
    for (const std::size_t n : kBucketCounts)
        check_spread(wrapped, n);
    CHECK(rill::hash<double>{}(1.5) == rill::detail::mix64(std::hash<double>{}(1.5)));
}
