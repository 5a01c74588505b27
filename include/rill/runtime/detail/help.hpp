#pragma once
// help_until: how a step that cannot go on (an expanding stage whose output ring is full, with as
// much held back as its bound allows; an outlet whose readers are behind) waits without blocking
// its worker. The worker steps its other tasks meanwhile, and spins, yields and parks by its
// policy when none of them progresses. A step that helps this way is "active"; a task stepped
// while it helps is active above it, so each worker has a stack of active steps.
//
// Which tasks a helping worker steps: all of its tasks except the active ones and every task
// upstream of an active one (one of those could need room in an active task's input, which an
// active task, mid-step, does not make).
//
// Which steps may wait: the outermost active step, and a nested step whose task is downstream of
// the step it is nested in, when that one waits for a task. Any other nested step is refused
// (help_until returns false) and holds what it cannot hand over instead, in memory that grows:
// it could otherwise wait for a task that waits, on another worker, for the step it is nested in
// to end (two flows, or two branches, each nesting over the other's expanding stage), or keep an
// unrelated step from going on until the application reads (two flows' outlets on one worker,
// the application reading one to its end before the other).
//
// Why this cannot deadlock (between tasks; the application must read the outlets it waits on):
//  * A step waits only for room in a ring it writes, that is for a task strictly downstream, or
//    for the application to read an outlet, which nothing is downstream of.
//  * The steps that wait on a worker form a chain, each downstream of the one below it, with at
//    most one wait for the application, on top.
//  * A waiting step W waits for its consumer C. If C's worker cannot step C, C is active there
//    or upstream of an active step, so the top of that worker's stack is downstream of C, thus
//    strictly downstream of W; if it waits, it waits further downstream still.
//  * Waits therefore point strictly downstream in one flow's graph, which has no cycles: the one
//    furthest downstream waits for a task that is neither active nor blocked anywhere. It runs,
//    that wait ends, and the stacks unwind from there. (Stage code that never returns is outside
//    this argument.)
//  * An ordered fan-in takes a replica's items in chunk order, so it may need a particular
//    upstream replica: every round, what active steps have emitted so far, and what blocked
//    tasks hold from their last step, goes out as far as there is room, so no replica's output
//    is held back behind a wait.
// A nested step that finishes its task only marks it done; the outermost pass erases it.

#include <cstdint>

namespace rill::detail {

/// What a waiting step waits for.
enum class WaitFor : std::uint8_t {
    downstream_task,  // room that a task downstream makes
    application,      // something an application thread does
};

/// On a worker thread, inside a task's step: returns true once ready(context) holds, helping as
/// above meanwhile. Returns false at once, without waiting, off a worker thread and when the
/// step may not wait (see above); the caller then keeps what it holds.
[[nodiscard]] bool help_until(bool (*ready)(const void*), const void* context,
                              WaitFor what) noexcept;

}  // namespace rill::detail
