#pragma once
// The public API of rill.

#include "rill/ring/mpmc_ring.hpp"
#include "rill/ring/ring_spans.hpp"
#include "rill/ring/spsc_ring.hpp"
#include "rill/wait/event_count.hpp"
#include "rill/wait/wait_policy.hpp"
#include "rill/wait/waiter.hpp"
