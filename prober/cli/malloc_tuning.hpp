#pragma once
// The prober process's allocator.
//
// The prober binary links mimalloc (Debian libmimalloc-dev; meson -Dallocator, default
// mimalloc outside sanitizer builds), which then serves malloc for the whole process, curl's
// included. A step costs the prober some 0.05-0.07 ms of CPU, and glibc's malloc and free were
// 17-20 % of it (perf, bench throughput at 64 and 1,024 in flight): curl allocates and frees
// its per-transfer state, headers and buffers on every step. Linked with mimalloc, whole
// `run --once` runs against nginx took 9 % (1,024 journeys x 100 steps) and 11 % (64 x 1,600)
// less CPU, in about the same memory, and the scale scenario's schedule lag fell; mimalloc
// keeps freed blocks in per-page free lists, so there is no bulk merge like glibc's
// malloc_consolidate for a step's time to count (allocator_test). Figures: README,
// Performance. `prober version` says which library serves malloc.
//
// Without mimalloc (-Dallocator=system) main() tunes glibc's allocator instead:
// keep_freed_memory() and no_fast_bins() below.

#include <dlfcn.h>
#include <malloc.h>

#include <cstdlib>
#include <string>
#include <string_view>

namespace prober::cli {

// The file name of the library whose malloc this process calls ("libmimalloc.so.2",
// "libc.so.6"); "the program itself" when malloc is linked into the program (a sanitizer's).
inline std::string malloc_provider() {
  void* (*const m)(std::size_t) = &::malloc;
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(m), &info) == 0) return "unknown";
  const std::string_view file = info.dli_fname != nullptr ? info.dli_fname : "";
  Dl_info self{};
  if (file.empty() ||
      (::dladdr(reinterpret_cast<void*>(&malloc_provider), &self) != 0 &&
       self.dli_fbase == info.dli_fbase))
    return "the program itself";
  return std::string(file.substr(file.rfind('/') + 1));
}

// Whether GLIBC_TUNABLES (as given, nullptr when unset) names this tunable.
inline bool names_tunable(const char* tunables, std::string_view name) {
  return tunables != nullptr && std::string_view(tunables).find(name) != std::string_view::npos;
}

// Whether the operator chose glibc's trim or mmap threshold (environment values as given,
// nullptr when unset): MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_THRESHOLD_ or GLIBC_TUNABLES
// naming glibc.malloc.trim_threshold / glibc.malloc.mmap_threshold. Their choice stands.
inline bool operator_sets_malloc_thresholds(const char* trim_env, const char* mmap_env,
                                            const char* tunables) {
  return trim_env != nullptr || mmap_env != nullptr ||
         names_tunable(tunables, "glibc.malloc.trim_threshold") ||
         names_tunable(tunables, "glibc.malloc.mmap_threshold");
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
  return names_tunable(tunables, "glibc.malloc.mxfast");
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
