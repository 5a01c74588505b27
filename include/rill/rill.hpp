#pragma once
// The public API of rill.

#include "rill/pool/object_pool.hpp"
#include "rill/pool/pool_options.hpp"
#include "rill/pool/pool_stats.hpp"
#include "rill/pool/pooled.hpp"
#include "rill/ring/mpmc_ring.hpp"
#include "rill/ring/ring_spans.hpp"
#include "rill/ring/spsc_ring.hpp"
#include "rill/wait/event_count.hpp"
#include "rill/wait/wait_policy.hpp"
#include "rill/wait/waiter.hpp"
