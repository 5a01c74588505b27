#pragma once
// Worker: one thread that round-robins over its tasks and waits by policy when none progressed.
// Private to the runtime; the public face is rill::Runtime.

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "rill/runtime/detail/help.hpp"
#include "rill/runtime/detail/runtime_access.hpp"
#include "rill/runtime/runtime.hpp"
#include "rill/time/clock.hpp"
#include "rill/wait/event_count.hpp"
#include "rill/wait/wait_policy.hpp"

namespace rill::detail {

class Worker {
  public:
    Worker(const Runtime& owner, unsigned index, WaitPolicy policy, const Clock& clock);
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    /// Starts the thread, names it and pins it to `cpu` (-1: not pinned). Throws
    /// std::system_error naming the CPU if the kernel refuses.
    void start(const std::string& thread_name, int cpu);
    /// Asks the thread to exit once it has no tasks left, and waits for it.
    void quit_and_join() noexcept;

    /// Makes room for n more submits, so that they cannot throw.
    void reserve(std::size_t n);
    /// Hands over tasks, all at once. Does not throw after a reserve() for them.
    void submit(const std::vector<Task*>& tasks, const std::shared_ptr<void>& keep_alive);
    [[nodiscard]] EventCount& events() noexcept { return *events_; }
    /// Shared so that an inlet or a user's waker may outlive the runtime harmlessly.
    [[nodiscard]] const std::shared_ptr<EventCount>& events_owner() const noexcept {
        return events_;
    }
    [[nodiscard]] WorkerStats stats() const noexcept;

    /// The worker whose thread this is, or null.
    [[nodiscard]] static Worker* current() noexcept;
    /// On this worker's thread, inside a step: returns true once ready(context) holds, stepping
    /// meanwhile the tasks that cannot be what the caller waits for, and waiting by policy when
    /// none of them progresses; false at once if the step may not wait. See help.hpp.
    [[nodiscard]] bool help_until(bool (*ready)(const void*), const void* context,
                                  WaitFor what) noexcept;

  private:
    struct Entry {
        Task* task;
        std::shared_ptr<void> keep_alive;
        bool done = false;  // finished in a nested pass; erased by the outermost one
    };

    void run() noexcept;
    bool pass() noexcept;
    /// Steps tasks_[i], tracking it as active while it runs.
    [[nodiscard]] StepResult step(std::size_t i) noexcept;
    /// Moves handed-over tasks into tasks_; true if there were any.
    bool take_inbox() noexcept;
    /// What a help_until at one depth of active_ needs, kept while the same tasks are active so
    /// that a step waiting again and again (once per batch it expands to) does not allocate.
    struct HelpLevel {
        const Task* task = nullptr;                // active_[depth] when computed
        bool downstream_of_below = false;          // task is downstream of active_[depth - 1]
        WaitFor waits_for = WaitFor::application;  // set by the help_until under way here
        std::vector<const Task*> blocked;  // active_[0..depth] and every task upstream of one
    };
    /// The level of the step on top of active_, computed if the active tasks changed.
    HelpLevel& top_level();
    /// One pass over the tasks that are not in `blocked`, from inside a help_until.
    [[nodiscard]] bool help_pass(const std::vector<const Task*>& blocked) noexcept;
    [[nodiscard]] WaitPolicy current_policy() const noexcept;
    /// Until when the worker may park: its tasks' nearest timer, in steady time.
    [[nodiscard]] Task::Clock::time_point park_until() const noexcept;

    const Runtime& owner_;
    const unsigned index_;
    int cpu_ = -1;
    const WaitPolicy default_policy_;
    const Clock& clock_;  // the runtime's: its tasks' timers are in its time
    std::thread thread_;
    std::shared_ptr<EventCount> events_ = std::make_shared<EventCount>();

    // Tasks handed over by other threads; tasks_ below is the worker thread's own.
    std::mutex inbox_mutex_;
    std::vector<Entry> inbox_;
    // release by submit() after filling inbox_ under the mutex; acquire by the worker's pass(),
    // which then takes the mutex anyway. Lets a pass skip the mutex when nothing is waiting.
    std::atomic<bool> inbox_ready_{false};
    // release by quit_and_join(); acquire by the worker before it exits.
    std::atomic<bool> quit_{false};

    std::vector<Entry> tasks_;
    bool policy_dirty_ = true;
    // Tasks in the middle of a step on this thread, outermost first: more than one only while a
    // step waits in help_until. Reserved as tasks arrive, so pushes do not allocate.
    std::vector<Task*> active_;
    bool erase_pending_ = false;  // some entries are marked done
    // A deque: a nested help_until adds levels while the ones below are in use.
    std::deque<HelpLevel> levels_;
    std::size_t levels_valid_ = 0;  // levels_[0, levels_valid_) match active_; 0 after an erase

    // Single writer (the worker), read by stats() from any thread: relaxed is enough for counts.
    std::atomic<std::uint64_t> task_count_{0};
    std::atomic<std::uint64_t> spins_{0};
    std::atomic<std::uint64_t> yields_{0};
    std::atomic<std::uint64_t> parks_{0};
};

}  // namespace rill::detail
