#pragma once
#include <catch2/catch.hpp>

/// Checks that expr throws ExceptionType and that its what() contains text.
#define RILL_CHECK_THROWS_WITH_TEXT(expr, ExceptionType, text)    \
    do {                                                          \
        CHECK_THROWS_AS(expr, ExceptionType);                     \
        CHECK_THROWS_WITH(expr, Catch::Matchers::Contains(text)); \
    } while (false)
