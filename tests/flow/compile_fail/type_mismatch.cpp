// Must not compile: a stage whose callable cannot take the items of its stream. The compiler's
// error names rill::detail::stage_input_mismatch<stream item type, stage parameter type>; the
// test that builds this file checks for it (see ../CMakeLists.txt).
//   RILL_MISMATCH_CASE 1: a map taking std::string on a stream of std::uint64_t
//   RILL_MISMATCH_CASE 2: a sink taking std::string on a stream of std::uint64_t
//   RILL_MISMATCH_CASE 3: a generic map whose body needs .size() (the error is the call's own,
//   under rill::detail::generic_stage_cannot_take, not a mismatch with a placeholder type)

#include <cstdint>
#include <string>

#include <rill/rill.hpp>

void build_mismatched_flow() {
    rill::Flow flow;
    rill::Stream<std::uint64_t> numbers = flow.source("numbers", rill::iota<std::uint64_t>(0, 10));
#if RILL_MISMATCH_CASE == 1
    numbers.map("m", [](const std::string& s) { return s.size(); }).sink("sink", [](std::size_t) {
    });
#elif RILL_MISMATCH_CASE == 2
    numbers.sink("sink", [](std::string s) { static_cast<void>(s); });
#elif RILL_MISMATCH_CASE == 3
    numbers.map("m", [](const auto& s) -> decltype(s.size()) { return s.size(); })
        .sink("sink", [](std::size_t) {});
#else
#error "RILL_MISMATCH_CASE must be 1, 2 or 3"
#endif
}
