# Warning and sanitizer flags shared by every rill target (library, tests, benchmarks, tools).

set(_rill_sanitize_flags "")
if(RILL_SANITIZE)
    string(REPLACE "," ";" _rill_sanitizers "${RILL_SANITIZE}")
    foreach(_s IN LISTS _rill_sanitizers)
        if(NOT _s MATCHES "^(thread|address|undefined)$")
            message(FATAL_ERROR "RILL_SANITIZE: '${_s}' is not a sanitizer rill knows; expected thread, address, undefined or a comma list of them")
        endif()
    endforeach()
    if("thread" IN_LIST _rill_sanitizers AND "address" IN_LIST _rill_sanitizers)
        message(FATAL_ERROR "RILL_SANITIZE: thread and address cannot be combined (got '${RILL_SANITIZE}')")
    endif()
    list(JOIN _rill_sanitizers "," _rill_sanitize_list)
    # Line tables for the sanitizers' stack traces where the build type gives no debug info.
    set(_rill_sanitize_flags -fsanitize=${_rill_sanitize_list} -fno-omit-frame-pointer
        $<$<NOT:$<CONFIG:Debug,RelWithDebInfo>>:-g1>)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GCC" OR CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
        # GCC 12's flow analysis under -fsanitize reports maybe-uninitialized inside libstdc++
        # (std::regex, std::function) that optimised builds do not.
        list(APPEND _rill_sanitize_flags -Wno-maybe-uninitialized)
        if("thread" IN_LIST _rill_sanitizers)
            # moodycamel::ConcurrentQueue (behind Inlet) uses std::atomic_thread_fence, which
            # ThreadSanitizer does not model and GCC flags (-Wtsan). rill's own fence protocols
            # switch to read-modify-write forms under TSan (see detail/tsan.hpp).
            list(APPEND _rill_sanitize_flags -Wno-tsan)
        endif()
    endif()
    if("undefined" IN_LIST _rill_sanitizers)
        list(APPEND _rill_sanitize_flags -fno-sanitize-recover=undefined)
    endif()
endif()

function(rill_apply_flags target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
        -Wno-sign-conversion $<$<BOOL:${RILL_STRICT}>:-Werror>)
    if(_rill_sanitize_flags)
        target_compile_options(${target} PRIVATE ${_rill_sanitize_flags})
        target_link_options(${target} PRIVATE ${_rill_sanitize_flags})
        target_compile_definitions(${target} PRIVATE RILL_SANITIZED=1)
    endif()
endfunction()
