#pragma once
// rill::hash<K>: the 64-bit hash that routes keyed items to replicas (hash % replicas) and that
// KeyedState probes with. std::hash is not enough for either: libstdc++ hashes integers to
// themselves, so sequential keys and keys sharing low bits (ids that are multiples of 4, aligned
// pointers) would land on the same few replicas. Every rill::hash therefore ends in a full 64-bit
// mix, so all bits, the low ones in particular, depend on every bit of the key.
//
//  * integers, enums, pointers: the value through mix64 (a bijection: distinct keys never collide).
//  * std::string (any allocator), std::string_view, const char*, char*: the bytes through
//    hash_bytes; the same contents hash the same through any of them, so a stream keyed by
//    std::string and a lookup by std::string_view agree.
//  * anything else with a std::hash: std::hash, then mix64.
// Hashes are stable within a build, not across platforms or versions: do not persist them.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

namespace rill {

namespace detail {

// Odd constants with balanced bits: 2^64 / golden ratio, and the multipliers of splitmix64's
// and murmur3's finalizers.
inline constexpr std::uint64_t kHashK0 = 0x9e3779b97f4a7c15;
inline constexpr std::uint64_t kHashK1 = 0xbf58476d1ce4e5b9;
inline constexpr std::uint64_t kHashK2 = 0x94d049bb133111eb;
inline constexpr std::uint64_t kHashK3 = 0xff51afd7ed558ccd;

/// Stafford's "Mix13" finalizer (as in splitmix64): a bijection on 64 bits with full avalanche.
[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= kHashK1;
    x ^= x >> 27;
    x *= kHashK2;
    x ^= x >> 31;
    return x;
}

/// The full 128-bit product of a and b, as its low and high halves.
inline void mul128(std::uint64_t a, std::uint64_t b, std::uint64_t& lo,
                   std::uint64_t& hi) noexcept {
#if defined(__SIZEOF_INT128__)
    __extension__ using u128 = unsigned __int128;
    const u128 r = static_cast<u128>(a) * b;
    lo = static_cast<std::uint64_t>(r);
    hi = static_cast<std::uint64_t>(r >> 64);
#else
    const std::uint64_t a_lo = a & 0xffffffff, a_hi = a >> 32;
    const std::uint64_t b_lo = b & 0xffffffff, b_hi = b >> 32;
    const std::uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
    const std::uint64_t mid = (ll >> 32) + (lh & 0xffffffff) + (hl & 0xffffffff);
    lo = (ll & 0xffffffff) | (mid << 32);
    hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
#endif
}

/// Multiply-fold: the 128-bit product with its halves xored. Each output bit depends on most
/// input bits of both operands, at the cost of one multiply.
[[nodiscard]] inline std::uint64_t fold_mul(std::uint64_t a, std::uint64_t b) noexcept {
    std::uint64_t lo = 0, hi = 0;
    mul128(a, b, lo, hi);
    return lo ^ hi;
}

// Unaligned loads in native byte order; each memcpy compiles to one mov.
[[nodiscard]] inline std::uint64_t load64(const unsigned char* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
[[nodiscard]] inline std::uint64_t load32(const unsigned char* p) noexcept {
    std::uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

/// Hash of len bytes at data, reading 8 bytes at a time. Up to 16 bytes (most keys) take two
/// possibly overlapping loads and two multiplies, no loop: the loads cover every byte, so for a
/// given length the pair (a, b) determines the input. Longer inputs fold 32 bytes per round into
/// two independent lanes (two multiplies in flight), then 16, then the last 16 bytes (again
/// overlapping). The length enters the final mix, so inputs that differ only in length differ.
[[nodiscard]] inline std::uint64_t hash_bytes(const void* data, std::size_t len) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint64_t state = kHashK3;
    std::uint64_t a = 0, b = 0;
    if (len <= 16) {
        if (len >= 8) {
            a = load64(p);
            b = load64(p + len - 8);
        } else if (len >= 4) {
            a = load32(p);
            b = load32(p + len - 4);
        } else if (len > 0) {
            a = (std::uint64_t{p[0]} << 16) | (std::uint64_t{p[len >> 1]} << 8) | p[len - 1];
        }
    } else {
        std::size_t rest = len;
        if (rest > 32) {
            std::uint64_t other = state ^ kHashK0;
            do {
                state = fold_mul(load64(p) ^ kHashK1, load64(p + 8) ^ state);
                other = fold_mul(load64(p + 16) ^ kHashK2, load64(p + 24) ^ other);
                p += 32;
                rest -= 32;
            } while (rest > 32);
            state ^= other;
        }
        while (rest > 16) {
            state = fold_mul(load64(p) ^ kHashK1, load64(p + 8) ^ state);
            p += 16;
            rest -= 16;
        }
        a = load64(p + rest - 16);  // rest is in [1, 16] and len > 16: still inside the input
        b = load64(p + rest - 8);
    }
    std::uint64_t lo = 0, hi = 0;
    mul128(a ^ kHashK1, b ^ state, lo, hi);
    return fold_mul(lo ^ kHashK0 ^ len, hi ^ kHashK1);
}

template <class K>
concept std_hashable = requires(const K& key) {
    { std::hash<K>{}(key) } -> std::convertible_to<std::size_t>;
};

/// The string specializations. Transparent: hash<std::string> also takes a std::string_view or
/// a const char* (same result for the same bytes), for heterogeneous lookup.
struct string_hash {
    using is_transparent = void;
    [[nodiscard]] std::uint64_t operator()(std::string_view s) const noexcept {
        return hash_bytes(s.data(), s.size());
    }
    /// A null pointer hashes like the empty string.
    [[nodiscard]] std::uint64_t operator()(const char* s) const noexcept {
        return s == nullptr ? hash_bytes(s, 0) : hash_bytes(s, std::strlen(s));
    }
};

}  // namespace detail

template <class K>
struct hash {
    static_assert(std::is_integral_v<K> || std::is_enum_v<K> || std::is_pointer_v<K> ||
                      detail::std_hashable<K>,
                  "rill::hash<K>: K is not an integer, enum, pointer or string and has no "
                  "std::hash<K>. Specialize rill::hash<K> with "
                  "`std::uint64_t operator()(const K&) const noexcept` (or std::hash<K>), or "
                  "key by a field that has one");

    [[nodiscard]] std::uint64_t operator()(const K& key) const noexcept {
        if constexpr (std::is_integral_v<K> && sizeof(K) > sizeof(std::uint64_t)) {
            // __int128: fold the high half in rather than dropping it.
            return detail::mix64(static_cast<std::uint64_t>(key) ^
                                 detail::mix64(static_cast<std::uint64_t>(key >> 64)));
        } else if constexpr (std::is_integral_v<K>) {
            // Signed values sign-extend: -1 hashes the same as int, long or std::int64_t.
            return detail::mix64(static_cast<std::uint64_t>(key));
        } else if constexpr (std::is_enum_v<K>) {
            return detail::mix64(
                static_cast<std::uint64_t>(static_cast<std::underlying_type_t<K>>(key)));
        } else if constexpr (std::is_pointer_v<K>) {
            // Aligned pointers have zero low bits; the mix spreads the others into them.
            return detail::mix64(static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(key)));
        } else {
            return detail::mix64(static_cast<std::uint64_t>(std::hash<K>{}(key)));
        }
    }
};

template <class K>
struct hash<const K> : hash<K> {};

template <class Alloc>
struct hash<std::basic_string<char, std::char_traits<char>, Alloc>> : detail::string_hash {};
template <>
struct hash<std::string_view> : detail::string_hash {};
template <>
struct hash<const char*> : detail::string_hash {};
template <>
struct hash<char*> : detail::string_hash {};

/// Key equality that agrees with rill::hash: std::equal_to<> for every key type except C strings,
/// which rill::hash hashes by their bytes and which are therefore compared by their bytes too (two
/// equal strings at different addresses are one key). Transparent.
template <class K>
struct key_equal : std::equal_to<> {};

namespace detail {
struct string_equal {
    using is_transparent = void;
    [[nodiscard]] static std::string_view view(std::string_view s) noexcept { return s; }
    [[nodiscard]] static std::string_view view(const char* s) noexcept {
        return s == nullptr ? std::string_view() : std::string_view(s);
    }
    template <class A, class B>
    [[nodiscard]] bool operator()(const A& a, const B& b) const noexcept {
        return view(a) == view(b);
    }
};
}  // namespace detail

template <>
struct key_equal<const char*> : detail::string_equal {};
template <>
struct key_equal<char*> : detail::string_equal {};

/// rill::hash of key, by its decayed type: hash_key("abc") == hash_key(std::string("abc")).
template <class K>
[[nodiscard]] std::uint64_t hash_key(const K& key) noexcept {
    return hash<std::decay_t<K>>{}(key);
}

}  // namespace rill
