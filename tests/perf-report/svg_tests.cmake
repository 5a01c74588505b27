# rill-perf-report's SVG chart: the rill_perf_svg library (defined in tools/perf-report, which the
# top level adds whenever tests or tools are on), its unit tests, and checks of a rendered sample by xmllint and by headless
# Chromium. Included from tests/perf-report/CMakeLists.txt; the tests need the chart only, not a
# sweep, so they build even where the tools are off (the sanitizer presets).
set(_rill_perf_report_dir ${PROJECT_SOURCE_DIR}/tools/perf-report)

rill_add_test(test_svg_chart SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_svg_chart.cpp
    LABELS unit TIMEOUT 60)
target_link_libraries(test_svg_chart PRIVATE rill_perf_svg)

# Writes a chart of the default grid (made-up numbers) to the path it is given.
add_executable(perf_svg_sample ${_rill_perf_report_dir}/perf_svg_sample.cpp)
target_link_libraries(perf_svg_sample PRIVATE rill_perf_svg)
rill_apply_flags(perf_svg_sample)

# Each is skipped (exit 77) with a message when its program is not installed.
foreach(_check xmllint chromium)
    if(_check STREQUAL "xmllint")
        set(_test "perf_svg: the sample chart is well-formed XML (xmllint)")
        set(_labels unit)
    else()
        set(_test "perf_svg: the sample chart renders in headless Chromium")
        set(_labels browser)
    endif()
    add_test(NAME "${_test}"
        COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/svg_check.sh ${_check}
            $<TARGET_FILE:perf_svg_sample> ${CMAKE_CURRENT_BINARY_DIR}/svg-${_check})
    set_tests_properties("${_test}" PROPERTIES
        SKIP_RETURN_CODE 77 TIMEOUT 180 LABELS "${_labels}")
endforeach()
