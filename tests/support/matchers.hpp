#pragma once
#include <catch2/catch.hpp>

#include <algorithm>
#include <exception>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

/// Checks that expr throws ExceptionType and that its what() contains text.
#define RILL_CHECK_THROWS_WITH_TEXT(expr, ExceptionType, text)    \
    do {                                                          \
        CHECK_THROWS_AS(expr, ExceptionType);                     \
        CHECK_THROWS_WITH(expr, Catch::Matchers::Contains(text)); \
    } while (false)

/// Matches an exception whose what() contains every one of the given texts.
class MessageContainsAll : public Catch::MatcherBase<std::exception> {
  public:
    MessageContainsAll(std::initializer_list<std::string> texts) : texts_(texts) {}
    bool match(const std::exception& e) const override {
        const std::string what = e.what();
        return std::all_of(texts_.begin(), texts_.end(),
                           [&](const std::string& t) { return what.find(t) != std::string::npos; });
    }
    std::string describe() const override {
        std::ostringstream out;
        out << "has a message containing all of:";
        for (const std::string& t : texts_)
            out << " \"" << t << '"';
        return out.str();
    }

  private:
    std::vector<std::string> texts_;
};
