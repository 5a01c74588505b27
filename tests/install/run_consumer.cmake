# Builds and runs tests/install/consumer against rill, either installed (MODE=install) or
# through add_subdirectory (MODE=subdirectory). Run with cmake -P; fails on any step's error.

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(run)
    execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "step failed (${rc}): ${ARGV}\n${out}\n${err}")
    endif()
    message(STATUS "${out}")
endfunction()

set(consumer_src "${RILL_SOURCE_DIR}/tests/install/consumer")
if(MODE STREQUAL "install")
    run(${CMAKE_COMMAND} --install "${RILL_BINARY_DIR}" --prefix "${WORK_DIR}/prefix")
    run(${CMAKE_COMMAND} -S "${consumer_src}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
        -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release)
elseif(MODE STREQUAL "subdirectory")
    run(${CMAKE_COMMAND} -S "${consumer_src}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
        -DRILL_SOURCE_DIR=${RILL_SOURCE_DIR} -DCMAKE_BUILD_TYPE=Release)
else()
    message(FATAL_ERROR "MODE must be install or subdirectory, got '${MODE}'")
endif()
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run("${WORK_DIR}/build/consumer")
run("${WORK_DIR}/build/consumer_mimalloc")
