#pragma once
// ItemLedger: how often each of a known set of items arrived, and the verdict a stress test
// prints: which items never arrived and which arrived more than once. One ledger per consuming
// thread (marking is not atomic); merge them after the threads are joined.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

namespace rill::test {

struct LedgerVerdict {
    std::uint64_t expected = 0;    ///< items that should have arrived
    std::uint64_t arrived = 0;     ///< arrivals counted, duplicates included
    std::uint64_t missing = 0;     ///< expected items that never arrived
    std::uint64_t duplicated = 0;  ///< arrivals beyond the first of an item
    std::uint64_t unexpected = 0;  ///< arrivals of items that should not have arrived at all
    std::vector<std::uint64_t> first_missing;  ///< the lowest few missing items

    [[nodiscard]] bool exact() const noexcept {
        return missing == 0 && duplicated == 0 && unexpected == 0;
    }
    [[nodiscard]] std::string str() const {
        std::ostringstream out;
        out << *this;
        return out.str();
    }
    friend std::ostream& operator<<(std::ostream& out, const LedgerVerdict& v) {
        out << "ledger: " << v.arrived << " arrivals for " << v.expected << " items; missing "
            << v.missing;
        if (!v.first_missing.empty()) {
            out << " (first:";
            for (const std::uint64_t i : v.first_missing)
                out << ' ' << i;
            out << (v.missing > v.first_missing.size() ? " ...)" : ")");
        }
        return out << ", duplicated " << v.duplicated << ", unexpected " << v.unexpected;
    }
};

class ItemLedger {
  public:
    explicit ItemLedger(std::size_t items = 0) : seen_(items, 0) {}

    /// Counts an arrival of `item` (counts stop at 255). An item outside the ledger counts as
    /// unexpected.
    void mark(std::uint64_t item) noexcept {
        if (item >= seen_.size()) {
            ++out_of_range_;
            return;
        }
        if (seen_[item] != 0xff) ++seen_[item];
    }

    /// Adds another ledger of the same items (one per consumer, say).
    void merge(const ItemLedger& other) {
        if (seen_.size() < other.seen_.size()) seen_.resize(other.seen_.size(), 0);
        for (std::size_t i = 0; i < other.seen_.size(); ++i)
            seen_[i] = static_cast<std::uint8_t>(std::min(0xff, seen_[i] + other.seen_[i]));
        out_of_range_ += other.out_of_range_;
    }

    /// The verdict when every item in the ledger should arrive once.
    [[nodiscard]] LedgerVerdict verdict() const {
        return verdict([](std::uint64_t) { return true; });
    }

    /// The verdict when exactly the items for which expected(item) holds should arrive, once.
    template <class Expected>
    [[nodiscard]] LedgerVerdict verdict(Expected expected) const {
        constexpr std::size_t kShown = 5;
        LedgerVerdict v;
        v.unexpected = out_of_range_;
        v.arrived = out_of_range_;
        for (std::size_t i = 0; i < seen_.size(); ++i) {
            const std::uint64_t n = seen_[i];
            v.arrived += n;
            if (!expected(std::uint64_t{i})) {
                v.unexpected += n;
                continue;
            }
            ++v.expected;
            if (n == 0) {
                ++v.missing;
                if (v.first_missing.size() < kShown) v.first_missing.push_back(i);
            }
            if (n > 1) v.duplicated += n - 1;
        }
        return v;
    }

  private:
    std::vector<std::uint8_t> seen_;
    std::uint64_t out_of_range_ = 0;
};

}  // namespace rill::test
