#pragma once
// Runs a piece of a test in a forked child, to check that misuse aborts with a message.

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>

namespace rill::test {

struct ChildOutcome {
    int signal = 0;     // the signal that ended the child, or 0
    int exit_code = 0;  // its exit code when it exited
    std::string stderr_text;
};

/// Runs body in a forked child (stderr captured, SIGABRT at its default) and waits for it. A body
/// that returns makes the child exit 0.
template <class Body>
ChildOutcome run_in_child(Body body) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        std::signal(SIGABRT, SIG_DFL);  // the expected abort is not a Catch2 failure
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        body();
        _exit(0);
    }
    close(fds[1]);
    ChildOutcome out;
    char buf[512];
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
        out.stderr_text.append(buf, n);
    close(fds[0]);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
    if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
    return out;
}

}  // namespace rill::test
