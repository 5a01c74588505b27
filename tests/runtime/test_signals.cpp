// Signals: the graceful_shutdown example, run as a child process, exits 0 after SIGTERM or
// SIGINT; SignalStop in this process drains a run (or cancels it when the drain takes too long),
// rejects bad input with a message, allows one instance at a time and puts the previous handlers
// back when it dies.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <string>
#include <thread>

#include "rill/rill.hpp"
#include "runtime/runtime_support.hpp"
#include "support/matchers.hpp"

using namespace std::chrono_literals;
using rill::test::Clock;

namespace {

/// A child process whose stdout the test reads.
class Child {
  public:
    explicit Child(const char* path) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) return;
        pid_ = fork();
        if (pid_ == 0) {
            dup2(fds[1], STDOUT_FILENO);  // the copy is not close-on-exec
            // The child starts as a program would from a shell: no blocked or ignored signals,
            // whatever this test process (or ctest) had.
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, nullptr);
            std::signal(SIGINT, SIG_DFL);
            std::signal(SIGTERM, SIG_DFL);
            execl(path, path, static_cast<char*>(nullptr));
            _exit(127);
        }
        close(fds[1]);
        out_ = fds[0];
        fcntl(out_, F_SETFL, O_NONBLOCK);
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        if (running()) {
            kill(pid_, SIGKILL);
            int status = 0;
            waitpid(pid_, &status, 0);
        }
        if (out_ >= 0) close(out_);
    }

    [[nodiscard]] bool started() const { return pid_ > 0 && out_ >= 0; }
    [[nodiscard]] bool running() const { return pid_ > 0 && !exited_; }
    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] const std::string& output() const { return text_; }

    /// Reads stdout until it contains `text`, the pipe closes or the deadline passes.
    bool read_until(const std::string& text, Clock::time_point deadline) {
        while (text_.find(text) == std::string::npos) {
            if (eof_ || Clock::now() >= deadline) return false;
            read_some(std::chrono::milliseconds(10));
        }
        return true;
    }

    /// Waits for the child to exit; its wait status, or nothing at the deadline.
    std::optional<int> wait_until(Clock::time_point deadline) {
        for (;;) {
            int status = 0;
            const pid_t r = waitpid(pid_, &status, WNOHANG);
            if (r == pid_) {
                exited_ = true;
                while (!eof_)
                    read_some(std::chrono::milliseconds(10));  // the rest of its output
                return status;
            }
            if (r < 0 || Clock::now() >= deadline) return std::nullopt;
            read_some(std::chrono::milliseconds(10));
        }
    }

  private:
    void read_some(std::chrono::milliseconds timeout) {
        pollfd p{out_, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return;
        char buf[4096];
        const ssize_t n = read(out_, buf, sizeof buf);
        if (n > 0) {
            text_.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0) {
            eof_ = true;
        }
    }

    pid_t pid_ = -1;
    int out_ = -1;
    bool exited_ = false;
    bool eof_ = false;
    std::string text_;
};

/// An idle run: an inlet nobody pushes to, into a sink.
struct IdleRun {
    rill::Runtime runtime{{.workers = 1u}};
    rill::Flow flow;
    rill::InletStream<int> io = flow.inlet<int>("in");
    rill::Run run = start();

    rill::Run start() {
        io.stream.sink("sink", [](int) {});
        return runtime.start(flow);
    }
    ~IdleRun() { io.inlet.close(); }
};

volatile std::sig_atomic_t g_own_handler_calls = 0;
extern "C" void own_handler(int) {
    g_own_handler_calls = g_own_handler_calls + 1;
}

/// A flow that cannot drain fast: an inlet of `items` into a sink that takes at least 1 ms each.
struct SlowInletRun {
    rill::Runtime runtime{{.workers = 2u, .allow_oversubscription = true}};
    rill::Flow flow{{.capacity = 4, .chain = false}};
    std::atomic<std::uint64_t> seen{0};
    rill::InletStream<std::uint64_t> io = flow.inlet<std::uint64_t>("in", {.capacity = 100'000});
    rill::Run run = start();

    rill::Run start() {
        io.stream.sink("slow", [this](std::uint64_t) {
            std::this_thread::sleep_for(1ms);
            seen.fetch_add(1);
        });
        return runtime.start(flow);
    }
};

}  // namespace

#ifdef RILL_GRACEFUL_SHUTDOWN_EXE
TEST_CASE("graceful_shutdown drains and exits 0 after a signal", "[runtime][signals]") {
    const int sig = GENERATE(SIGTERM, SIGINT);
    CAPTURE(sig, RILL_GRACEFUL_SHUTDOWN_EXE);
    Child child(RILL_GRACEFUL_SHUTDOWN_EXE);
    REQUIRE(child.started());
    const bool running = child.read_until("running", Clock::now() + 60s);
    INFO("child output so far:\n" << child.output());
    REQUIRE(running);
    REQUIRE(kill(child.pid(), sig) == 0);
    // The example drains within its 5 s drain timeout, or cancels and exits 1.
    const std::optional<int> status = child.wait_until(Clock::now() + 5s + 30s);
    INFO("child output:\n" << child.output());
    if (!status) FAIL("the child did not exit within 35 s of the signal; killed it");
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    CHECK_THAT(child.output(), Catch::Matchers::Contains("status stopped"));
    CHECK_THAT(child.output(), Catch::Matchers::Contains("signal " + std::to_string(sig) + ","));
    CHECK_THAT(child.output(), Catch::Matchers::Contains("enrich: closed"));
}
#endif

TEST_CASE("SignalStop rejects a bad signal list with a message", "[runtime][signals]") {
    IdleRun idle;
    rill::Run& run = idle.run;
    RILL_CHECK_THROWS_WITH_TEXT(rill::SignalStop(run, 1s, {}), std::invalid_argument,
                                "signal list is empty");
    RILL_CHECK_THROWS_WITH_TEXT(rill::SignalStop(run, 1s, {SIGKILL}), std::invalid_argument,
                                "signal " + std::to_string(SIGKILL));
    RILL_CHECK_THROWS_WITH_TEXT(rill::SignalStop(run, 1s, {SIGTERM, SIGKILL}),
                                std::invalid_argument, "signal " + std::to_string(SIGKILL));
    RILL_CHECK_THROWS_WITH_TEXT(rill::SignalStop(run, 1s, {SIGSTOP}), std::invalid_argument,
                                "signal " + std::to_string(SIGSTOP));
    RILL_CHECK_THROWS_WITH_TEXT(rill::SignalStop(run, 1s, {0}), std::invalid_argument, "signal 0");
    RILL_CHECK_THROWS_WITH_TEXT(rill::SignalStop(run, 1s, {-3}), std::invalid_argument,
                                "signal -3");
    RILL_CHECK_THROWS_WITH_TEXT(rill::SignalStop(run, 1s, {NSIG}), std::invalid_argument,
                                "signal " + std::to_string(NSIG));
    // Nothing was left half-installed: a good SignalStop can be made now.
    CHECK_NOTHROW(rill::SignalStop(run, 1s, {SIGUSR1}));
    rill::Run moved = std::move(run);
    RILL_CHECK_THROWS_WITH_TEXT(rill::SignalStop(run, 1s), std::logic_error, "moved from");
    idle.io.inlet.close();
    CHECK(moved.wait() == rill::RunStatus::completed);
}

TEST_CASE("only one SignalStop may be alive at a time", "[runtime][signals]") {
    IdleRun idle;
    {
        rill::SignalStop first(idle.run, 1s, {SIGUSR1});
        RILL_CHECK_THROWS_WITH_TEXT(rill::SignalStop(idle.run, 1s, {SIGUSR2}), std::logic_error,
                                    "another SignalStop");
        RILL_CHECK_THROWS_WITH_TEXT(rill::SignalStop(idle.run, 1s), std::logic_error,
                                    "another SignalStop");
        // The refused one did not disturb the first: its signal still stops the run.
        REQUIRE(raise(SIGUSR1) == 0);
        const auto status = idle.run.wait_for(60s);
        REQUIRE(status);
        CHECK(*status == rill::RunStatus::stopped);
        CHECK(first.received() == SIGUSR1);
    }
    // Once it is gone, another may be made.
    CHECK_NOTHROW(rill::SignalStop(idle.run, 1s, {SIGUSR2}));
}

TEST_CASE("SignalStop puts the previous handlers back when it dies", "[runtime][signals]") {
    IdleRun idle;
    struct sigaction own {};
    own.sa_handler = own_handler;
    sigemptyset(&own.sa_mask);
    struct sigaction saved_usr1 {};
    REQUIRE(sigaction(SIGUSR1, &own, &saved_usr1) == 0);
    struct sigaction term_before {
    }, int_before{};
    REQUIRE(sigaction(SIGTERM, nullptr, &term_before) == 0);
    REQUIRE(sigaction(SIGINT, nullptr, &int_before) == 0);
    {
        rill::SignalStop on_signal(idle.run, 1s, {SIGUSR1, SIGTERM, SIGINT});
        struct sigaction now {};
        REQUIRE(sigaction(SIGUSR1, nullptr, &now) == 0);
        CHECK(now.sa_handler != own_handler);
    }
    struct sigaction after {};
    REQUIRE(sigaction(SIGUSR1, nullptr, &after) == 0);
    CHECK(after.sa_handler == own_handler);
    g_own_handler_calls = 0;
    REQUIRE(raise(SIGUSR1) == 0);
    CHECK(g_own_handler_calls == 1);
    CHECK_FALSE(idle.run.done());  // the signal went to our handler, not to a stop
    REQUIRE(sigaction(SIGTERM, nullptr, &after) == 0);
    CHECK(after.sa_handler == term_before.sa_handler);
    REQUIRE(sigaction(SIGINT, nullptr, &after) == 0);
    CHECK(after.sa_handler == int_before.sa_handler);
    REQUIRE(sigaction(SIGUSR1, &saved_usr1, nullptr) == 0);
}

TEST_CASE("a signal drains an inlet flow: everything accepted is processed", "[runtime][signals]") {
    SlowInletRun slow;
    constexpr std::uint64_t kPushed = 50;
    for (std::uint64_t i = 0; i < kPushed; ++i)
        REQUIRE(slow.io.inlet.try_push(i));
    rill::SignalStop on_signal(slow.run, 60s, {SIGUSR1});
    REQUIRE(raise(SIGUSR1) == 0);
    const auto status = slow.run.wait_for(120s);
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::stopped);
    CHECK(on_signal.received() == SIGUSR1);
    CHECK(slow.seen.load() == kPushed);
    const rill::FlowMetrics m = slow.run.metrics();
    INFO(rill::test::describe(m));
    CHECK(rill::test::ledger(m).closes());
    CHECK(rill::test::ledger(m).dropped == 0);
    CHECK_FALSE(slow.io.inlet.try_push(0));  // the stop closed the inlet
}

TEST_CASE("a signal whose drain misses the drain timeout cancels the run", "[runtime][signals]") {
    // 10,000 items at 1 ms or more each cannot drain within 20 ms.
    SlowInletRun slow;
    constexpr std::uint64_t kPushed = 10'000;
    for (std::uint64_t i = 0; i < kPushed; ++i)
        REQUIRE(slow.io.inlet.try_push(i));
    rill::SignalStop on_signal(slow.run, 20ms, {SIGUSR1});
    REQUIRE(raise(SIGUSR1) == 0);
    const auto status = slow.run.wait_for(120s);
    REQUIRE(status);
    CHECK(*status == rill::RunStatus::cancelled);
    const rill::FlowMetrics m = slow.run.metrics();
    INFO(rill::test::describe(m));
    const rill::test::Ledger l = rill::test::ledger(m);
    CHECK(l.closes());
    CHECK(l.entered == kPushed);
    CHECK(l.dropped > 0);
    CHECK(slow.seen.load() == m.at("slow").out);
}
