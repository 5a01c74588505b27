#pragma once
// KeyedState<K, V>: per-key state (counts, running sums, last values) inside one replica of a
// keyed stage. key_by sends every item of a key to the same replica, so each replica owns its
// keys outright and its map needs no locks; what it needs is fast lookups and no allocation in
// steady state. Hence a flat open-addressing table:
//  * One array of slots, each holding a tag (the key's 64-bit hash, never 0; 0 marks an empty
//    slot), the key and the value. A lookup usually touches one cache line and calls Eq only
//    when the whole 64-bit hash matches, which matters for string keys.
//  * Linear probing in a power-of-two table that doubles when more than 3/4 full. Nothing is
//    allocated otherwise; reserve(n) up front makes n keys allocation-free.
//  * erase shifts the rest of the probe run back into the hole (no tombstones), so lookups do
//    not slow down as keys come and go.
//  * A key's home slot is the top bits of tag * 2^64/phi, not the low bits of the hash: the
//    keys of one replica all share hash % replicas, so the low bits would crowd them into a
//    fraction of the table. The multiply also rescues a user Hash that is weak in some bits.
// One thread at a time. Copyable, because each replica gets its own copy of the stage object.
// A pointer or reference into the table (from operator[], find or for_each) stays valid until
// the next insertion (which may grow the table) or erase (which may move entries). Hash and Eq
// must not throw.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "rill/detail/cache_line.hpp"
#include "rill/detail/memory.hpp"
#include "rill/state/hash.hpp"

namespace rill {

namespace detail {

/// Most keys a KeyedState may be sized for: 2^32, the same bound as a ring's capacity. Its 2^33
/// slots already take 2^33 * sizeof(slot) bytes.
inline constexpr std::size_t kKeyedStateMaxKeys = std::size_t{1} << 32;

inline void check_keyed_state_keys(const char* what, std::size_t n) {
    if (n > kKeyedStateMaxKeys) {
        throw std::invalid_argument(std::string(what) + " " + std::to_string(n) +
                                    " is too large: expected at most " +
                                    std::to_string(kKeyedStateMaxKeys) + " keys");
    }
}

template <class Hash, class Eq, class K, class Q>
concept transparent_lookup = !std::is_same_v<std::remove_cvref_t<Q>, K> && requires {
    typename Hash::is_transparent;
    typename Eq::is_transparent;
};

}  // namespace detail

template <class K, class V, class Hash = rill::hash<K>, class Eq = rill::key_equal<K>>
class KeyedState {
    static_assert(std::is_nothrow_move_constructible_v<K> &&
                      std::is_nothrow_move_constructible_v<V> &&
                      std::is_nothrow_destructible_v<K> && std::is_nothrow_destructible_v<V>,
                  "rill::KeyedState<K, V>: K and V must be nothrow move-constructible and "
                  "destructible (entries move when the table grows and on erase)");
    static_assert(std::is_invocable_r_v<std::uint64_t, const Hash&, const K&>,
                  "rill::KeyedState<K, V, Hash>: Hash must be callable as hash(const K&) and "
                  "return an integer");

    static constexpr bool kCopyable =
        std::is_copy_constructible_v<K> && std::is_copy_constructible_v<V>;
    static constexpr bool kNothrowMove =
        std::is_nothrow_move_constructible_v<Hash> && std::is_nothrow_move_constructible_v<Eq>;
    static constexpr bool kNothrowMoveAssign =
        std::is_nothrow_move_assignable_v<Hash> && std::is_nothrow_move_assignable_v<Eq>;
    static constexpr bool kNothrowSwap =
        std::is_nothrow_swappable_v<Hash> && std::is_nothrow_swappable_v<Eq>;

  public:
    using key_type = K;
    using mapped_type = V;
    using hasher = Hash;
    using key_equal = Eq;

    /// Sized so that expected_keys keys fit without growing; 0 allocates nothing until the first
    /// insertion. Throws std::invalid_argument if expected_keys exceeds 2^32.
    explicit KeyedState(std::size_t expected_keys = 1024, Hash hash = Hash(), Eq eq = Eq())
        : hash_(std::move(hash)), eq_(std::move(eq)) {
        detail::check_keyed_state_keys("rill::KeyedState: expected_keys", expected_keys);
        if (expected_keys > 0) {
            const std::size_t slots = slots_for(expected_keys);
            adopt(allocate_slots(slots), slots);
        }
    }

    /// Same slot count and layout as other; allocates only if other has storage.
    KeyedState(const KeyedState& other) requires kCopyable : hash_(other.hash_), eq_(other.eq_) {
        if (other.slots_ == nullptr) return;
        adopt(allocate_slots(other.slot_count()), other.slot_count());
        try {
            // Slot for slot: each entry keeps its position, so the probe runs stay valid.
            for (std::size_t i = 0; i < slot_count(); ++i) {
                if (other.slots_[i].tag == 0) continue;
                std::construct_at(&slots_[i].entry, other.slots_[i].entry);
                slots_[i].tag = other.slots_[i].tag;  // only once the entry exists
                ++size_;
            }
        } catch (...) {
            release();
            throw;
        }
    }

    /// Takes other's table; other is left empty, without storage.
    KeyedState(KeyedState&& other) noexcept(kNothrowMove)
        : hash_(std::move(other.hash_)), eq_(std::move(other.eq_)) {
        steal(other);
    }

    KeyedState& operator=(const KeyedState& other) requires kCopyable {
        if (this != &other) {
            KeyedState copy(other);  // may throw; *this is untouched until the swap
            swap(copy);
        }
        return *this;
    }

    KeyedState& operator=(KeyedState&& other) noexcept(kNothrowMoveAssign) {
        if (this != &other) {
            release();
            hash_ = std::move(other.hash_);
            eq_ = std::move(other.eq_);
            steal(other);
        }
        return *this;
    }

    ~KeyedState() { release(); }

    void swap(KeyedState& other) noexcept(kNothrowSwap) {
        using std::swap;
        swap(slots_, other.slots_);
        swap(mask_, other.mask_);
        swap(shift_, other.shift_);
        swap(size_, other.size_);
        swap(capacity_, other.capacity_);
        swap(hash_, other.hash_);
        swap(eq_, other.eq_);
    }
    friend void swap(KeyedState& a, KeyedState& b) noexcept(noexcept(a.swap(b))) { a.swap(b); }

    /// The value for key, inserting a value-initialized V (0 for arithmetic types) if absent.
    /// Allocates only when the table is full (size() == capacity()).
    V& operator[](const K& key) { return find_or_insert(key); }
    V& operator[](K&& key) { return find_or_insert(std::move(key)); }

    /// The value for key, or nullptr.
    [[nodiscard]] V* find(const K& key) noexcept { return find_value(key); }
    [[nodiscard]] const V* find(const K& key) const noexcept { return find_value(key); }

    /// Heterogeneous lookup (a std::string_view or "literal" for std::string keys) when Hash and
    /// Eq are transparent, as rill::hash of a string and std::equal_to<> are. Nothing is built.
    template <class Q>
    requires detail::transparent_lookup<Hash, Eq, K, Q>
    [[nodiscard]] V* find(const Q& key) noexcept { return find_value(key); }
    template <class Q>
    requires detail::transparent_lookup<Hash, Eq, K, Q>
    [[nodiscard]] const V* find(const Q& key) const noexcept { return find_value(key); }

    /// Removes key and its value; false if absent. Never allocates; may move other entries.
    bool erase(const K& key) noexcept { return erase_key(key); }
    template <class Q>
    requires detail::transparent_lookup<Hash, Eq, K, Q>
    bool erase(const Q& key) noexcept { return erase_key(key); }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

    /// Keys the table holds before it grows (3/4 of its slots); 0 without storage.
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

    /// Destroys every entry; the storage stays for the next keys.
    void clear() noexcept {
        for (std::size_t i = 0, left = size_; left > 0; ++i) {
            if (slots_[i].tag == 0) continue;
            std::destroy_at(&slots_[i].entry);
            slots_[i].tag = 0;
            --left;
        }
        size_ = 0;
    }

    /// Grows now, if needed, so that n keys fit without allocating. Never shrinks. Throws
    /// std::invalid_argument if n exceeds 2^32.
    void reserve(std::size_t n) {
        detail::check_keyed_state_keys("rill::KeyedState::reserve: n", n);
        if (n > capacity_) rehash(slots_for(n));
    }

    /// Calls f(const K&, V&) once per entry, in table order. f must not insert or erase.
    template <class F>
    void for_each(F&& f) {
        for (std::size_t i = 0, left = size_; left > 0; ++i) {
            if (slots_[i].tag == 0) continue;
            f(std::as_const(slots_[i].entry.key), slots_[i].entry.value);
            --left;
        }
    }
    /// Calls f(const K&, const V&) once per entry, in table order.
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0, left = size_; left > 0; ++i) {
            if (slots_[i].tag == 0) continue;
            f(std::as_const(slots_[i].entry.key), std::as_const(slots_[i].entry.value));
            --left;
        }
    }

  private:
    struct Entry {
        K key;
        V value;
        template <class KeyArg>
        requires std::is_constructible_v<K, KeyArg>
        explicit Entry(KeyArg&& k) : key(std::forward<KeyArg>(k)), value() {}
        Entry(const Entry&) = default;
        Entry(Entry&&) = default;
    };
    struct Slot {
        std::uint64_t tag;  // 0: empty, entry not alive; else the key's hash (0 stored as 1)
        union {
            Entry entry;
        };
        Slot() noexcept : tag(0) {}
        ~Slot() {}  // the owner destroys the entry of an occupied slot
    };

    static constexpr std::size_t kMinSlots = 8;
    static constexpr std::size_t kSlotAlign = std::max(alignof(Slot), detail::kCacheLine);

    /// Keys a table of `slots` slots holds before it grows: 3/4 of them, the one place the load
    /// factor is set. At 3/4 linear probing averages about 2.5 probes per hit and 8.5 per miss
    /// (an insertion or a lookup of an absent key); at 7/8 it would be 4.5 and 32.
    static constexpr std::size_t keys_for(std::size_t slots) noexcept { return slots - slots / 4; }

    /// Smallest power-of-two slot count that holds n keys.
    static constexpr std::size_t slots_for(std::size_t n) noexcept {
        std::size_t slots = kMinSlots;
        while (keys_for(slots) < n)
            slots *= 2;
        return slots;
    }
    static constexpr std::size_t kMaxSlots = slots_for(detail::kKeyedStateMaxKeys);

    [[nodiscard]] std::size_t slot_count() const noexcept {
        return slots_ == nullptr ? 0 : mask_ + 1;
    }

    template <class Q>
    [[nodiscard]] std::uint64_t tag_of(const Q& key) const noexcept {
        const auto h = static_cast<std::uint64_t>(hash_(key));
        return h | static_cast<std::uint64_t>(h == 0);
    }
    [[nodiscard]] std::size_t home(std::uint64_t tag) const noexcept {
        return static_cast<std::size_t>((tag * detail::kHashK0) >> shift_);
    }

    /// The slot holding key, or the empty slot ending its probe run (where it would go). The
    /// table has storage and at least one empty slot, so the loop ends.
    template <class Q>
    [[nodiscard]] std::size_t probe(std::uint64_t tag, const Q& key) const noexcept {
        for (std::size_t i = home(tag);; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.tag == 0 || (s.tag == tag && eq_(s.entry.key, key))) return i;
        }
    }
    [[nodiscard]] std::size_t empty_slot(std::uint64_t tag) const noexcept {
        std::size_t i = home(tag);
        while (slots_[i].tag != 0)
            i = (i + 1) & mask_;
        return i;
    }

    template <class Q>
    [[nodiscard]] V* find_value(const Q& key) const noexcept {
        if (size_ == 0) return nullptr;
        Slot& s = slots_[probe(tag_of(key), key)];
        return s.tag == 0 ? nullptr : &s.entry.value;
    }

    template <class KeyArg>
    V& find_or_insert(KeyArg&& key) {
        const std::uint64_t tag = tag_of(key);
        std::size_t i = 0;
        if (slots_ != nullptr) {
            i = probe(tag, key);
            if (slots_[i].tag != 0) return slots_[i].entry.value;
        }
        if (size_ == capacity_) {
            grow();
            i = empty_slot(tag);
        }
        // If building the entry throws, the slot stays empty and the table unchanged (it may
        // have grown).
        std::construct_at(&slots_[i].entry, std::forward<KeyArg>(key));
        slots_[i].tag = tag;
        ++size_;
        return slots_[i].entry.value;
    }

    template <class Q>
    bool erase_key(const Q& key) noexcept {
        if (size_ == 0) return false;
        std::size_t hole = probe(tag_of(key), key);
        if (slots_[hole].tag == 0) return false;
        std::destroy_at(&slots_[hole].entry);
        slots_[hole].tag = 0;
        // Backward shift: an entry further along the run moves into the hole if its probe path
        // (home .. j) passes the hole, i.e. its home is at least as far behind j as the hole
        // is. It then leaves a hole of its own. The run ends at the first empty slot.
        for (std::size_t j = (hole + 1) & mask_; slots_[j].tag != 0; j = (j + 1) & mask_) {
            Slot& s = slots_[j];
            if (((j - home(s.tag)) & mask_) < ((j - hole) & mask_)) continue;
            std::construct_at(&slots_[hole].entry, std::move(s.entry));
            slots_[hole].tag = s.tag;
            std::destroy_at(&s.entry);
            s.tag = 0;
            hole = j;
        }
        --size_;
        return true;
    }

    [[gnu::noinline]] void grow() {
        const std::size_t slots = slot_count();
        if (slots >= kMaxSlots) {
            throw std::length_error("rill::KeyedState: more than " + std::to_string(capacity_) +
                                    " keys");
        }
        rehash(slots == 0 ? kMinSlots : slots * 2);
    }

    /// Moves every entry into a new table of `slots` slots. Only the allocation can throw, and
    /// then nothing has changed.
    void rehash(std::size_t slots) {
        Slot* old = slots_;
        const std::size_t old_count = slot_count();
        adopt(allocate_slots(slots), slots);
        for (std::size_t i = 0, left = size_; left > 0; ++i) {
            if (old[i].tag == 0) continue;
            const std::size_t to = empty_slot(old[i].tag);
            std::construct_at(&slots_[to].entry, std::move(old[i].entry));
            slots_[to].tag = old[i].tag;
            std::destroy_at(&old[i].entry);
            --left;
        }
        if (old != nullptr) detail::free_aligned(old, old_count * sizeof(Slot), kSlotAlign);
    }

    static Slot* allocate_slots(std::size_t slots) {
        auto* p = static_cast<Slot*>(detail::allocate_aligned(slots * sizeof(Slot), kSlotAlign));
        for (std::size_t i = 0; i < slots; ++i)
            std::construct_at(&p[i]);
        return p;
    }

    /// Installs fresh storage (all slots empty); size_ is left as it is.
    void adopt(Slot* slots, std::size_t count) noexcept {
        slots_ = slots;
        mask_ = count - 1;
        shift_ = 64 - static_cast<unsigned>(std::countr_zero(count));
        capacity_ = keys_for(count);
    }

    void steal(KeyedState& other) noexcept {
        slots_ = std::exchange(other.slots_, nullptr);
        mask_ = std::exchange(other.mask_, 0);
        shift_ = std::exchange(other.shift_, 64);
        size_ = std::exchange(other.size_, 0);
        capacity_ = std::exchange(other.capacity_, 0);
    }

    /// Destroys the entries and frees the storage, leaving an empty table without storage.
    void release() noexcept {
        if (slots_ == nullptr) return;
        clear();
        detail::free_aligned(slots_, slot_count() * sizeof(Slot), kSlotAlign);
        slots_ = nullptr;
        mask_ = 0;
        shift_ = 64;
        capacity_ = 0;
    }

    Slot* slots_ = nullptr;
    std::size_t mask_ = 0;  // slot count - 1
    unsigned shift_ = 64;   // 64 - log2(slot count): home() keeps the top bits
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;  // keys before the next growth: 3/4 of the slots
    [[no_unique_address]] Hash hash_;
    [[no_unique_address]] Eq eq_;
};

}  // namespace rill
