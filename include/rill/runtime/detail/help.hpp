#pragma once
// help_until: how a task that cannot go on inside its step (an expanding stage whose output ring
// is full, with as much held back as its bound allows) waits without blocking its worker. The
// worker steps its other tasks meanwhile, and spins, yields and parks by its policy when none of
// them progresses.
//
// Which tasks the helping worker steps: all of its tasks except the active ones (those in the
// middle of a step on this thread: the waiting task, and the steps it is nested in) and every
// task upstream of an active one. Why this cannot deadlock:
//  * A task waits only for room in a ring it writes, that is for a task downstream of it.
//  * The task W on top of the active stack waits for its consumer C, which is never blocked: if
//    C were active or upstream of an active task A, then A (below W on the stack) would be
//    downstream of W, and W, stepped while A was active, would have been upstream of A, so
//    blocked then. On this worker C is therefore stepped; on another, that worker steps C
//    unless C is upstream of a task active there, which waits further downstream in turn.
//  * Waits point strictly downstream in a graph without cycles, so the one furthest downstream
//    waits for a task that is neither active nor blocked anywhere: it runs, the wait ends, and
//    the stack unwinds from there. (Stage code that never returns is outside this argument.)
// A nested step that finishes its task only marks it done; the outermost pass erases it.

namespace rill::detail {

/// On a worker thread, inside a task's step: returns true once ready(context) holds, helping as
/// above meanwhile. Elsewhere: returns false at once.
bool help_until(bool (*ready)(const void*), const void* context) noexcept;

}  // namespace rill::detail
