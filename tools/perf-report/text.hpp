#pragma once
// cat(): joins strings by appending to one result. GCC 12 misreads `"literal" + std::string`
// (operator+ inserting at the front) as an overlapping memcpy under -O3 (-Wrestrict, GCC bug
// 105651); appending never inserts.

#include <string>
#include <string_view>

namespace rill::perf_report {

template <class... Parts>
[[nodiscard]] std::string cat(const Parts&... parts) {
    std::string out;
    (out.append(std::string_view(parts)), ...);
    return out;
}

}  // namespace rill::perf_report
