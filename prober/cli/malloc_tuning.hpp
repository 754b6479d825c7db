#pragma once
// How the prober process sets glibc's allocator up (main() calls keep_freed_memory() and
// no_fast_bins()).

#include <malloc.h>

#include <cstdlib>
#include <string_view>

namespace prober::cli {

// Whether the operator chose glibc's trim or mmap threshold (environment values as given,
// nullptr when unset): MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_THRESHOLD_ or GLIBC_TUNABLES
// naming glibc.malloc.trim_threshold / glibc.malloc.mmap_threshold. Their choice stands.
inline bool operator_sets_malloc_thresholds(const char* trim_env, const char* mmap_env,
                                            const char* tunables) {
  if (trim_env != nullptr || mmap_env != nullptr) return true;
  if (tunables == nullptr) return false;
  const std::string_view t(tunables);
  return t.find("glibc.malloc.trim_threshold") != std::string_view::npos ||
         t.find("glibc.malloc.mmap_threshold") != std::string_view::npos;
}

// glibc hands the free top of a heap back to the kernel as soon as it exceeds 128 KiB. A
// prober's transfers free and reallocate tens of KiB at the top of their worker's heap all the
// time (curl's per-transfer state): at 1,024 in flight the heap was trimmed every few hundred
// steps, each trim a madvise with a TLB shoot-down of the other CPUs, each regrowth page
// faults. Keep up to 4 MiB free per heap instead; blocks of 1 MiB and more (large bodies,
// reports) still get a mapping of their own and go back when freed. (Setting the trim
// threshold freezes glibc's dynamic mmap threshold, hence both.) Returns whether it did.
inline bool keep_freed_memory() {
  if (operator_sets_malloc_thresholds(std::getenv("MALLOC_TRIM_THRESHOLD_"),
                                      std::getenv("MALLOC_MMAP_THRESHOLD_"),
                                      std::getenv("GLIBC_TUNABLES")))
    return false;
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 4 << 20);
  return true;
}

// Whether GLIBC_TUNABLES (as given, nullptr when unset) names glibc.malloc.mxfast: the
// operator's choice of fast bins stands.
inline bool operator_sets_fast_bins(const char* tunables) {
  return tunables != nullptr &&
         std::string_view(tunables).find("glibc.malloc.mxfast") != std::string_view::npos;
}

// glibc keeps freed blocks of up to 128 bytes in "fast bins", unmerged, and merges every one of
// them at the next request of 1 KiB or more (malloc_consolidate). curl frees its 16 KiB read
// buffer when a transfer ends and allocates it again when the next one begins, between its
// clock for the step's total and its clock for the step's phases: under load the merge behind
// that request took milliseconds, and the step's total counted them while its first byte did
// not (bench fidelity at 5,000 in flight: kept-connection steps with a one-segment answer
// whose total came up to 9 ms after its first byte, 14 and 22 per run; 1 in 55,463 without fast
// bins). Without fast bins small blocks still go to the thread's cache first (tcache, 7 per
// size), and beyond it are merged as they are freed. Returns whether it turned them off.
inline bool no_fast_bins() {
  if (operator_sets_fast_bins(std::getenv("GLIBC_TUNABLES"))) return false;
  return ::mallopt(M_MXFAST, 0) == 1;
}

}  // namespace prober::cli
