#include "worker.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <system_error>

#include "rill/detail/assert.hpp"
#include "rill/runtime/detail/help.hpp"
#include "rill/wait/waiter.hpp"

namespace rill::detail {
namespace {

thread_local const Runtime* t_runtime = nullptr;  // the runtime whose worker this thread is
thread_local Worker* t_worker = nullptr;

std::atomic<WorkerIdleHook> g_idle_hook{nullptr};

/// Ranks policies from the most eager (lowest latency) to the laziest.
int eagerness(const WaitPolicy& p) noexcept {
    switch (p.mode) {
        case WaitPolicy::Mode::busy_spin:
            return 3;
        case WaitPolicy::Mode::spin_yield:
            return 2;
        case WaitPolicy::Mode::spin_park:
            return 1;
        case WaitPolicy::Mode::park:
            return 0;
    }
    return 0;
}

void publish_delta(std::atomic<std::uint64_t>& total, std::uint64_t before, std::uint64_t after) {
    // relaxed: a single-writer statistic (see Worker).
    total.store(total.load(std::memory_order_relaxed) + (after - before),
                std::memory_order_relaxed);
}

}  // namespace

Worker::Worker(const Runtime& owner, unsigned index, WaitPolicy policy, const Clock& clock)
    : owner_(owner), index_(index), default_policy_(policy), clock_(clock) {}

void Worker::start(const std::string& thread_name, int cpu) {
    cpu_ = cpu;
    // The worker blocks asynchronous signals (it inherits the mask it is created with), so that
    // a signal sent to the process runs its handler on an application thread, not in the middle
    // of a step on a pinned worker. (Under TSan this also matters for delivery: a handler waits
    // for its thread's next intercepted call, which a busy worker may never make.) Faults and
    // abort stay deliverable.
    sigset_t async;
    sigfillset(&async);
    for (const int sync : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS})
        sigdelset(&async, sync);
    sigset_t previous;
    pthread_sigmask(SIG_BLOCK, &async, &previous);
    try {
        thread_ = std::thread([this] { run(); });
    } catch (...) {
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
        throw;
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    // Named and pinned from here so that a refusal is an exception in the constructor's thread.
    pthread_setname_np(thread_.native_handle(), thread_name.c_str());
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(static_cast<unsigned>(cpu), &set);
        if (const int rc = pthread_setaffinity_np(thread_.native_handle(), sizeof set, &set)) {
            quit_and_join();
            throw std::system_error(rc, std::generic_category(),
                                    "rill::Runtime: cannot pin worker " + std::to_string(index_) +
                                        " to CPU " + std::to_string(cpu));
        }
    }
}

void Worker::quit_and_join() noexcept {
    if (!thread_.joinable()) return;
    quit_.store(true, std::memory_order_release);  // release: pairs with the acquire in run()
    events_->notify_all();
    thread_.join();
}

void Worker::reserve(std::size_t n) {
    std::lock_guard lock(inbox_mutex_);
    inbox_.reserve(inbox_.size() + n);
}

void Worker::submit(const std::vector<Task*>& tasks, const std::shared_ptr<void>& keep_alive) {
    {
        // All at once: the worker takes a run's tasks together, never some of them. (A task
        // that waits for room mid-step may need another of the same run on this worker.)
        std::lock_guard lock(inbox_mutex_);
        for (Task* task : tasks)
            inbox_.push_back({task, keep_alive});
    }
    // release: pairs with the acquire in take_inbox(); the entries are already in inbox_.
    inbox_ready_.store(true, std::memory_order_release);
    events_->notify_one();
}

WorkerStats Worker::stats() const noexcept {
    // relaxed: single-writer statistics.
    return {index_,
            cpu_,
            task_count_.load(std::memory_order_relaxed),
            spins_.load(std::memory_order_relaxed),
            yields_.load(std::memory_order_relaxed),
            parks_.load(std::memory_order_relaxed),
            events_->waiters_approx() != 0};
}

StepResult Worker::step(std::size_t i) noexcept {
    Task* const task = tasks_[i].task;
    active_.push_back(task);  // reserved: does not allocate
    const StepResult r = task->step();
    active_.pop_back();
    if (r == StepResult::done) {
        // By index: a nested pass may have taken new tasks meanwhile and moved tasks_.
        tasks_[i].done = true;
        erase_pending_ = true;
        policy_dirty_ = true;
    }
    return r;
}

namespace {

/// Adds `from` and every task upstream of it to `out`, once each.
void add_with_upstreams(const Task* from, std::vector<const Task*>& out) {
    const std::size_t first = out.size();
    if (std::find(out.begin(), out.end(), from) == out.end()) out.push_back(from);
    for (std::size_t k = first; k < out.size(); ++k) {  // grows as upstreams are found
        const Task* t = out[k];
        for (std::size_t u = 0; u < t->upstream_count(); ++u) {
            const Task* up = t->upstream(u);
            if (std::find(out.begin(), out.end(), up) == out.end()) out.push_back(up);
        }
    }
}

}  // namespace

bool Worker::take_inbox() noexcept {
    // acquire: pairs with the release in submit().
    if (!inbox_ready_.load(std::memory_order_acquire)) return false;
    std::lock_guard lock(inbox_mutex_);
    inbox_ready_.store(false, std::memory_order_relaxed);  // relaxed: under the mutex
    // Out of memory in these two ends the process, as in any noexcept step. Room for every task
    // to be active at once (each nests at most once): no step allocates.
    for (Entry& e : inbox_)
        tasks_.push_back(std::move(e));
    inbox_.clear();
    active_.reserve(tasks_.size() + 1);
    // And a help level for every depth a step may wait at, each with room for every task it may
    // name (a level names its task's upstreams and the level's below): help_until then
    // allocates nothing, however late a step first waits.
    std::vector<const Task*> reach;
    std::size_t names = 0;
    for (const Entry& e : tasks_) {
        reach.clear();
        add_with_upstreams(e.task, reach);
        names += reach.size();
    }
    while (levels_.size() < tasks_.size() + 1)
        levels_.emplace_back();
    for (HelpLevel& level : levels_)
        level.blocked.reserve(names);
    policy_dirty_ = true;
    return true;
}

bool Worker::pass() noexcept {
    bool progressed = take_inbox();
    // Indices, not references: a step that helps (help_until) runs nested passes over tasks_,
    // which may append new tasks (moving the vector) and mark finished entries done, but never
    // erase any; only this outermost pass erases, below.
    for (std::size_t i = 0; i < tasks_.size(); ++i) {
        if (tasks_[i].done) continue;
        if (step(i) != StepResult::idle) progressed = true;
    }
    if (erase_pending_) {
        // Only here, in the outermost pass, with no step under way: dropping a keep-alive (which
        // may end a run and free its tasks) touches nothing in use.
        std::erase_if(tasks_, [](const Entry& e) { return e.done; });
        erase_pending_ = false;
        levels_valid_ = 0;  // a new task may get a finished one's address
    }
    if (policy_dirty_) {
        // relaxed: single-writer statistic.
        task_count_.store(tasks_.size(), std::memory_order_relaxed);
    }
    return progressed;
}

Worker* Worker::current() noexcept {
    return t_worker;
}

Worker::HelpLevel& Worker::top_level() {
    const std::size_t depth = active_.size() - 1;
    while (levels_.size() <= depth)
        levels_.emplace_back();
    std::size_t k = 0;
    while (k < levels_valid_ && k <= depth && levels_[k].task == active_[k])
        ++k;
    for (; k <= depth; ++k) {  // the levels from the first changed one up
        HelpLevel& level = levels_[k];
        level.task = active_[k];
        level.blocked.clear();  // keeps its capacity
        add_with_upstreams(active_[k], level.blocked);
        level.downstream_of_below = k != 0 && std::find(level.blocked.begin(), level.blocked.end(),
                                                        active_[k - 1]) != level.blocked.end();
        if (k != 0) {
            for (const Task* t : levels_[k - 1].blocked)
                add_with_upstreams(t, level.blocked);
        }
    }
    levels_valid_ = depth + 1;
    return levels_[depth];
}

bool help_until(bool (*ready)(const void*), const void* context, WaitFor what) noexcept {
    Worker* const worker = Worker::current();
    return worker != nullptr && worker->help_until(ready, context, what);
}

bool Worker::help_pass(const std::vector<const Task*>& blocked) noexcept {
    bool progressed = take_inbox();
    for (std::size_t i = 0; i < tasks_.size(); ++i) {
        const Entry& e = tasks_[i];
        if (e.done || std::find(blocked.begin(), blocked.end(), e.task) != blocked.end()) {
            continue;
        }
        if (step(i) != StepResult::idle) progressed = true;
    }
    return progressed;
}

bool Worker::help_until(bool (*ready)(const void*), const void* context, WaitFor what) noexcept {
    if (ready(context)) return true;
    RILL_ASSERT(!active_.empty(), "rill: help_until outside a step");
    // Its levels were made when the tasks came (take_inbox): this allocates nothing.
    HelpLevel& level = top_level();
    if (active_.size() > 1) {
        const HelpLevel& below = levels_[active_.size() - 2];
        if (below.waits_for != WaitFor::downstream_task || !level.downstream_of_below) {
            return false;  // see help.hpp: waiting here could close a cycle
        }
    }
    level.waits_for = what;
    const std::vector<const Task*>& blocked = level.blocked;
    // Every round, what the active steps have emitted so far and what blocked tasks hold from
    // their last step goes out, as far as there is room: another task may need it to make the
    // room this one waits for (an ordered fan-in waiting for one replica while this step waits
    // for room in another's ring). Handing it over never waits.
    const auto help = [&] {
        for (std::size_t i = 0; i < tasks_.size(); ++i) {
            const Entry& e = tasks_[i];
            if (!e.done && std::find(blocked.begin(), blocked.end(), e.task) != blocked.end()) {
                e.task->publish_pending();
            }
        }
        return help_pass(blocked);
    };
    Waiter waiter(current_policy());
    while (!ready(context)) {
        if (help()) continue;
        // The timers of the tasks it steps only: a blocked task's timer could stay in the past.
        // Clock time, turned into steady time to park until below.
        Task::Clock::time_point timer = Task::Clock::time_point::max();
        for (const Entry& e : tasks_) {
            if (!e.done && std::find(blocked.begin(), blocked.end(), e.task) == blocked.end()) {
                timer = std::min(timer, e.task->next_timer());
            }
        }
        const WaitStats before = waiter.stats();
        waiter.wait(
            *events_, [&] { return ready(context) || help(); }, clock_.park_until(timer));
        const WaitStats& after = waiter.stats();
        publish_delta(spins_, before.spins, after.spins);
        publish_delta(yields_, before.yields, after.yields);
        publish_delta(parks_, before.parks, after.parks);
    }
    return true;
}

WaitPolicy Worker::current_policy() const noexcept {
    WaitPolicy best = default_policy_;
    bool overridden = false;
    for (const Entry& e : tasks_) {
        if (e.done) continue;
        const std::optional<WaitPolicy> p = e.task->wait_policy();
        if (!p) continue;
        // A stage's own policy replaces the runtime's; among several, the most eager wins, with
        // the larger spin budget breaking ties, so no stage waits longer than it asked.
        if (!overridden || eagerness(*p) > eagerness(best) ||
            (eagerness(*p) == eagerness(best) && p->spin > best.spin)) {
            best = *p;
            overridden = true;
        }
    }
    return best;
}

Task::Clock::time_point Worker::park_until() const noexcept {
    // A scan, not a heap: a worker has a few tasks, each with one nearest timer (a stage keeps
    // its own many), and the scan runs only when a pass found nothing to do.
    Task::Clock::time_point t = Task::Clock::time_point::max();
    for (const Entry& e : tasks_) {
        if (!e.done) t = std::min(t, e.task->next_timer());
    }
    return t == Task::Clock::time_point::max() ? t : clock_.park_until(t);
}

bool on_worker_thread() noexcept {
    return t_runtime != nullptr;
}

bool on_worker_of(const Runtime& runtime) noexcept {
    return t_runtime == &runtime;
}

void set_worker_idle_hook(WorkerIdleHook hook) noexcept {
    g_idle_hook.store(hook);
}

void Worker::run() noexcept {
    t_runtime = &owner_;
    t_worker = this;
    std::optional<Waiter> waiter;
    for (;;) {
        // quit_ is read before the pass, never after it. quit_and_join() comes after every
        // submit() it must honour (~Runtime after start(), on one thread), and its release store
        // publishes the submit's inbox_ready_ store with it: a worker whose acquire load sees
        // quit_ then sees inbox_ready_ in the pass and takes the tasks. Read after an empty
        // pass, quit_ could show a submit and a quit that both landed between the two reads,
        // and the worker would exit with the new tasks in its inbox.
        // acquire: pairs with the release in quit_and_join().
        const bool quitting = quit_.load(std::memory_order_acquire);
        if (pass()) continue;
        // relaxed: a test hook, set before the runtime starts the work it observes.
        if (const WorkerIdleHook hook = g_idle_hook.load(std::memory_order_relaxed)) hook();
        if (quitting && tasks_.empty()) return;
        if (policy_dirty_ || !waiter) {
            waiter.emplace(current_policy());
            policy_dirty_ = false;
        }
        const WaitStats before = waiter->stats();
        waiter->wait(
            *events_,
            [&] {
                // acquire: as above. A quitting worker with tasks left waits for them normally;
                // one without goes back to the top, which makes the last pass before exiting.
                return (quit_.load(std::memory_order_acquire) && tasks_.empty()) || pass();
            },
            park_until());
        const WaitStats& after = waiter->stats();
        publish_delta(spins_, before.spins, after.spins);
        publish_delta(yields_, before.yields, after.yields);
        publish_delta(parks_, before.parks, after.parks);
    }
}

}  // namespace rill::detail
