#include "rill/runtime/runtime.hpp"

#include <sched.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "rill/detail/assert.hpp"
#include "worker.hpp"

namespace rill {
namespace {

std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        throw std::system_error(errno, std::generic_category(),
                                "rill::Runtime: cannot read the process's CPU affinity mask");
    }
    std::vector<int> cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
    return cpus;
}

std::string list(const std::vector<int>& cpus) {
    std::ostringstream out;
    out << '{';
    for (std::size_t i = 0; i < cpus.size(); ++i)
        out << (i ? "," : "") << cpus[i];
    out << '}';
    return out.str();
}

[[noreturn]] void invalid(const std::string& what) {
    throw std::invalid_argument("rill::RuntimeOptions::" + what);
}

/// The CPU of each worker (-1: unpinned), after checking the options against the machine.
std::vector<int> plan_workers(const RuntimeOptions& o) {
    const std::vector<int> allowed = allowed_cpus();
    std::vector<int> cpus = o.cpus.value_or(allowed);
    if (cpus.empty()) {
        invalid("cpus is empty; expected one or more CPUs from this process's affinity mask " +
                list(allowed));
    }
    for (std::size_t i = 0; i < cpus.size(); ++i) {
        if (std::find(allowed.begin(), allowed.end(), cpus[i]) == allowed.end()) {
            invalid("cpus contains CPU " + std::to_string(cpus[i]) +
                    ", which this process may not use; its affinity mask is " + list(allowed));
        }
        if (std::find(cpus.begin(), cpus.begin() + static_cast<std::ptrdiff_t>(i), cpus[i]) !=
            cpus.begin() + static_cast<std::ptrdiff_t>(i)) {
            invalid("cpus lists CPU " + std::to_string(cpus[i]) + " twice in " + list(cpus));
        }
    }
    const unsigned workers = o.workers.value_or(static_cast<unsigned>(cpus.size()));
    if (workers == 0) {
        invalid("workers is 0; expected at least 1 (this process may use " +
                std::to_string(cpus.size()) + " CPUs: " + list(cpus) + ")");
    }
    if (workers > RuntimeOptions::kMaxWorkers) {
        invalid("workers is " + std::to_string(workers) + "; expected at most " +
                std::to_string(RuntimeOptions::kMaxWorkers));
    }
    if (workers > cpus.size() && !o.allow_oversubscription) {
        invalid("workers is " + std::to_string(workers) + " but only " +
                std::to_string(cpus.size()) + " CPUs are available " + list(cpus) +
                "; set allow_oversubscription to let workers share cores");
    }
    const std::string longest = o.name + "/w" + std::to_string(workers - 1);
    if (o.name.empty() || longest.size() > 15) {
        invalid("name '" + o.name + "' gives thread names like '" + longest +
                "'; expected a non-empty name that keeps them within Linux's 15 characters");
    }
    o.wait.validate();
    std::vector<int> plan(workers, -1);
    if (o.pin) {
        for (unsigned i = 0; i < workers; ++i)
            plan[i] = cpus[i % cpus.size()];
    }
    return plan;
}

}  // namespace

struct Runtime::Impl {
    RuntimeOptions options;
    std::vector<int> cpus;
    std::vector<std::unique_ptr<detail::Worker>> workers;

    std::mutex mutex;  // guards runs, deadlines and timer_quit
    std::condition_variable timer_cv;
    std::vector<std::pair<const detail::RunControl*, std::weak_ptr<detail::RunControl>>> runs;
    std::multimap<std::chrono::steady_clock::time_point, std::weak_ptr<detail::RunControl>>
        deadlines;
    bool timer_quit = false;
    std::thread timer;  // started with the first deadline

    void timer_loop() {
        std::unique_lock lock(mutex);
        while (!timer_quit) {
            if (deadlines.empty()) {
                timer_cv.wait(lock);
                continue;
            }
            // A copy: untrack() may erase the node while the lock is released in the wait.
            const auto first = deadlines.begin()->first;
            if (timer_cv.wait_until(lock, first) == std::cv_status::no_timeout) continue;
            // Fire every deadline that has passed, outside the lock: the run takes its own.
            std::vector<std::shared_ptr<detail::RunControl>> due;
            const auto now = std::chrono::steady_clock::now();
            while (!deadlines.empty() && deadlines.begin()->first <= now) {
                if (auto run = deadlines.begin()->second.lock()) due.push_back(std::move(run));
                deadlines.erase(deadlines.begin());
            }
            lock.unlock();
            for (auto& run : due)
                run->deadline_expired();
            due.clear();
            lock.lock();
        }
    }
};

Runtime::Runtime(RuntimeOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->cpus = plan_workers(options);
    if (!options.clock) options.clock = std::make_shared<SteadyClock>();
    impl_->options = std::move(options);
    const auto n = static_cast<unsigned>(impl_->cpus.size());
    impl_->workers.reserve(n);
    try {
        for (unsigned i = 0; i < n; ++i) {
            impl_->workers.push_back(std::make_unique<detail::Worker>(*this, i, impl_->options.wait,
                                                                      *impl_->options.clock));
            impl_->options.clock->attach(impl_->workers.back()->events_owner());
            impl_->workers.back()->start(impl_->options.name + "/w" + std::to_string(i),
                                         impl_->cpus[i]);
        }
    } catch (...) {
        for (auto& w : impl_->workers)
            w->quit_and_join();
        throw;
    }
}

Runtime::~Runtime() {
    if (detail::on_worker_of(*this)) {
        detail::fatal(
            "rill::Runtime destroyed on one of its own worker threads: it would join that thread "
            "from itself");
    }
    std::vector<std::shared_ptr<detail::RunControl>> live;
    {
        std::lock_guard lock(impl_->mutex);
        for (auto& [raw, weak] : impl_->runs) {
            if (auto run = weak.lock()) live.push_back(std::move(run));
        }
        impl_->timer_quit = true;
    }
    impl_->timer_cv.notify_all();
    if (impl_->timer.joinable()) impl_->timer.join();
    for (auto& run : live)
        run->cancel_from_runtime();
    live.clear();
    // Workers exit once their tasks are done; cancelled tasks finish after draining.
    for (auto& w : impl_->workers)
        w->quit_and_join();
}

unsigned Runtime::workers() const noexcept {
    return static_cast<unsigned>(impl_->cpus.size());
}
const std::vector<int>& Runtime::cpus() const noexcept {
    return impl_->cpus;
}
const RuntimeOptions& Runtime::options() const noexcept {
    return impl_->options;
}

WorkerStats Runtime::worker_stats(unsigned worker) const {
    if (worker >= workers()) {
        throw std::out_of_range("rill::Runtime::worker_stats: worker " + std::to_string(worker) +
                                " does not exist; the runtime has " + std::to_string(workers()) +
                                " workers");
    }
    return impl_->workers[worker]->stats();
}

namespace detail {

void RuntimeAccess::submit_all(Runtime& runtime, const std::vector<Placement>& tasks,
                               const std::shared_ptr<void>& keep_alive) {
    auto& workers = runtime.impl_->workers;
    std::vector<std::vector<Task*>> per_worker(workers.size());
    for (const Placement& p : tasks)
        per_worker.at(p.worker).push_back(p.task);  // may throw
    for (std::size_t w = 0; w < per_worker.size(); ++w) {
        if (!per_worker[w].empty()) workers[w]->reserve(per_worker[w].size());  // may throw
    }
    for (std::size_t w = 0; w < per_worker.size(); ++w) {
        if (!per_worker[w].empty()) workers[w]->submit(per_worker[w], keep_alive);
    }
}

EventCount& RuntimeAccess::wake_handle(Runtime& runtime, unsigned worker) {
    return runtime.impl_->workers.at(worker)->events();
}

std::shared_ptr<EventCount> RuntimeAccess::wake_owner(Runtime& runtime, unsigned worker) {
    return runtime.impl_->workers.at(worker)->events_owner();
}

void RuntimeAccess::track(Runtime& runtime, std::weak_ptr<RunControl> run,
                          std::chrono::steady_clock::time_point deadline) {
    Runtime::Impl& impl = *runtime.impl_;
    const auto locked = run.lock();
    if (!locked) return;
    std::lock_guard lock(impl.mutex);
    impl.runs.emplace_back(locked.get(), run);
    if (deadline != std::chrono::steady_clock::time_point::max()) {
        impl.deadlines.emplace(deadline, std::move(run));
        if (!impl.timer.joinable()) impl.timer = std::thread([&impl] { impl.timer_loop(); });
        impl.timer_cv.notify_all();
    }
}

void RuntimeAccess::untrack(Runtime& runtime, const RunControl* run) noexcept {
    Runtime::Impl& impl = *runtime.impl_;
    std::lock_guard lock(impl.mutex);
    std::erase_if(impl.runs, [run](const auto& entry) { return entry.first == run; });
    std::erase_if(impl.deadlines, [run](const auto& entry) {
        const auto locked = entry.second.lock();
        return !locked || locked.get() == run;
    });
}

}  // namespace detail

}  // namespace rill
