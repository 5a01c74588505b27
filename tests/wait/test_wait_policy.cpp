// WaitPolicy: parsing, printing and validation with messages that name the bad value.

#include <catch2/catch.hpp>

#include <stdexcept>

#include "rill/wait/wait_policy.hpp"
#include "rill/wait/waiter.hpp"
#include "support/matchers.hpp"

using rill::WaitPolicy;

TEST_CASE("wait policies print and parse back", "[wait][policy]") {
    const WaitPolicy p =
        GENERATE(WaitPolicy::busy_spin(), WaitPolicy::spin_yield(100), WaitPolicy::spin_park(0, 0),
                 WaitPolicy::spin_park(5000, 12), WaitPolicy::park());
    CAPTURE(rill::to_string(p));
    CHECK(WaitPolicy::parse(rill::to_string(p)) == p);
    CHECK_NOTHROW(p.validate());
}

TEST_CASE("short forms take the default budgets", "[wait][policy]") {
    CHECK(WaitPolicy::parse("spin-park") == WaitPolicy{});
    CHECK(WaitPolicy::parse("spin-park:10") == WaitPolicy::spin_park(10, WaitPolicy{}.yield));
    CHECK(WaitPolicy::parse("spin-yield") == WaitPolicy::spin_yield());
}

TEST_CASE("bad wait policies are rejected with the value and what was expected", "[wait][policy]") {
    RILL_CHECK_THROWS_WITH_TEXT(WaitPolicy::parse("sleepy"), std::invalid_argument,
                                "wait policy 'sleepy': expected busy-spin");
    RILL_CHECK_THROWS_WITH_TEXT(WaitPolicy::parse("park:5"), std::invalid_argument, "'park:5'");
    RILL_CHECK_THROWS_WITH_TEXT(WaitPolicy::parse("spin-park:x"), std::invalid_argument,
                                "'x' is not a non-negative integer");
    RILL_CHECK_THROWS_WITH_TEXT(WaitPolicy::parse("spin-park:1:2:3"), std::invalid_argument,
                                "too many budgets");
    RILL_CHECK_THROWS_WITH_TEXT(WaitPolicy::parse("spin-yield:99999999"), std::invalid_argument,
                                "WaitPolicy.spin 99999999 exceeds the limit of 16777216");
    WaitPolicy bad_yield = WaitPolicy::spin_park(1, WaitPolicy::kMaxYield + 1);
    RILL_CHECK_THROWS_WITH_TEXT(bad_yield.validate(), std::invalid_argument,
                                "WaitPolicy.yield 65537 exceeds the limit");
    WaitPolicy bad_mode;
    bad_mode.mode = static_cast<WaitPolicy::Mode>(9);
    RILL_CHECK_THROWS_WITH_TEXT(rill::Waiter(bad_mode), std::invalid_argument,
                                "WaitPolicy.mode 9 is not one of");
}
