# Runs a command and passes only if it exits with exactly EXIT_CODE and its stderr matches
# STDERR_REGEX (or, with OUTPUT_REGEX instead, its stdout and stderr together match it). ctest's
# PASS_REGULAR_EXPRESSION ignores the exit code and WILL_FAIL accepts any failure; this checks
# both. Used through rill_add_exit_test (tests/CMakeLists.txt):
#   cmake -DEXIT_CODE=2 -DSTDERR_REGEX=<regex> [-DTIMEOUT=seconds] -P expect_exit.cmake --
#         <command> [args...]
# A command still running after TIMEOUT (default 60) seconds is killed and fails the test.
if(NOT DEFINED EXIT_CODE OR (NOT DEFINED STDERR_REGEX AND NOT DEFINED OUTPUT_REGEX))
    message(FATAL_ERROR "expect_exit.cmake: EXIT_CODE and STDERR_REGEX or OUTPUT_REGEX must be set")
endif()

if(NOT DEFINED TIMEOUT)
    set(TIMEOUT 60)
endif()

set(command "")
set(after_separator FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${last})
    if(after_separator)
        list(APPEND command "${CMAKE_ARGV${i}}")
    elseif(CMAKE_ARGV${i} STREQUAL "--")
        set(after_separator TRUE)
    endif()
endforeach()
if(NOT command)
    message(FATAL_ERROR "expect_exit.cmake: no command after --")
endif()

execute_process(COMMAND ${command}
    RESULT_VARIABLE code
    OUTPUT_VARIABLE out
    ERROR_VARIABLE err
    TIMEOUT ${TIMEOUT})

set(problems "")
if(NOT code STREQUAL "${EXIT_CODE}")
    string(APPEND problems "  exit code: expected ${EXIT_CODE}, got ${code}\n")
endif()
if(DEFINED STDERR_REGEX AND NOT err MATCHES "${STDERR_REGEX}")
    string(APPEND problems "  stderr does not match: ${STDERR_REGEX}\n")
endif()
if(DEFINED OUTPUT_REGEX AND NOT "${out}${err}" MATCHES "${OUTPUT_REGEX}")
    string(APPEND problems "  stdout and stderr do not match: ${OUTPUT_REGEX}\n")
endif()
if(problems)
    string(REPLACE ";" " " shown "${command}")
    message(FATAL_ERROR "${shown}\n${problems}--- stdout:\n${out}--- stderr:\n${err}")
endif()
message(STATUS "exit code ${code} and output as expected:\n${out}${err}")
