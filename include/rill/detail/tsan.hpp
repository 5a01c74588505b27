#pragma once
// RILL_TSAN: 1 when compiled with ThreadSanitizer, which does not model standalone fences. Code
// whose correctness rests on a pair of seq_cst fences uses read-modify-write operations on one
// shared atomic instead under TSan: their modification order decides what the fences' total
// order would.

#if defined(__SANITIZE_THREAD__)
#define RILL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RILL_TSAN 1
#endif
#endif
#ifndef RILL_TSAN
#define RILL_TSAN 0
#endif
