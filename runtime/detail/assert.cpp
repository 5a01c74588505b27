#include "rill/detail/assert.hpp"

#include <cstdio>
#include <cstdlib>

namespace rill::detail {

void assert_fail(const char* expr, const char* message, const char* file, int line) noexcept {
    std::fprintf(stderr, "rill: %s (check `%s` failed at %s:%d)\n", message, expr, file, line);
    std::fflush(stderr);
    std::abort();
}

void fatal(const char* message) noexcept {
    std::fprintf(stderr, "rill: %s\n", message);
    std::fflush(stderr);
    std::abort();
}

}  // namespace rill::detail
