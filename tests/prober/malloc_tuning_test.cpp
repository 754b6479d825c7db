#include "prober/cli/malloc_tuning.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <malloc.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace prober::cli {
namespace {

// This test program links no allocator of its own (allocator_test does): the C library's serves
// malloc, or the sanitizer's (gcc's runtime library; clang links it into the program).
TEST(MallocTuning, MallocProviderNamesTheLibraryThatServesMalloc) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  EXPECT_THAT(malloc_provider(), testing::AnyOf(testing::StartsWith("libasan.so"),
                                                testing::StartsWith("libtsan.so"),
                                                testing::Eq("the program itself")));
#else
  EXPECT_EQ(malloc_provider(), "libc.so.6");
#endif
}

TEST(MallocTuning, TheOperatorsOwnThresholdsStand) {
  EXPECT_FALSE(operator_sets_malloc_thresholds(nullptr, nullptr, nullptr));
  EXPECT_FALSE(operator_sets_malloc_thresholds(nullptr, nullptr, "glibc.malloc.arena_max=2"));
  EXPECT_TRUE(operator_sets_malloc_thresholds("131072", nullptr, nullptr));
  EXPECT_TRUE(operator_sets_malloc_thresholds(nullptr, "0", nullptr));
  EXPECT_TRUE(operator_sets_malloc_thresholds(nullptr, nullptr, "glibc.malloc.trim_threshold=0"));
  EXPECT_TRUE(operator_sets_malloc_thresholds(
      nullptr, nullptr, "glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=65536"));
}

TEST(MallocTuning, AFreedBurstStaysInTheHeapForTheNext) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator ignores mallopt: nothing of glibc's to test";
#else
  if (!keep_freed_memory()) GTEST_SKIP() << "this environment sets glibc's malloc thresholds";
  // A worker thread's own heap, as the prober's event loops have: 2 MiB in 64 KiB blocks
  // (below the 1 MiB mapping threshold), touched, then freed, last first, so that they merge
  // into the heap's free top. glibc's default trims that top back to ~128 KiB at once
  // (madvise: the pages leave memory, and the next burst page-faults them in again); kept,
  // they stay resident. mincore tells which.
  constexpr std::size_t kBlock = 64 * 1024, kBlocks = 32;
  std::size_t pages = 0, resident = 0;
  int mincore_rc = -1;
  std::thread worker([&] {
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    std::vector<void*> blocks;
    blocks.reserve(kBlocks);  // nothing allocated after the blocks: they end at the top
    std::vector<unsigned char> in_core(kBlocks * kBlock / page + 2);
    for (std::size_t i = 0; i < kBlocks; ++i) {
      void* p = std::malloc(kBlock);
      if (p == nullptr) return;
      std::memset(p, 1, kBlock);
      blocks.push_back(p);
    }
    const auto [lo_it, hi_it] = std::minmax_element(blocks.begin(), blocks.end());
    const std::uintptr_t lo = (reinterpret_cast<std::uintptr_t>(*lo_it) + page - 1) / page * page;
    const std::uintptr_t hi = (reinterpret_cast<std::uintptr_t>(*hi_it) + kBlock) / page * page;
    pages = (hi - lo) / page;
    for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) std::free(*it);
    if (pages > in_core.size()) return;  // not one run of blocks: pages stays > size, fails
    mincore_rc = ::mincore(reinterpret_cast<void*>(lo), hi - lo, in_core.data());
    for (std::size_t i = 0; i < pages; ++i) resident += in_core[i] & 1;
  });
  worker.join();
  ASSERT_EQ(mincore_rc, 0) << "pages " << pages;
  EXPECT_EQ(resident, pages) << "pages of the freed burst handed back to the kernel";
#endif
}

TEST(MallocTuning, TheOperatorsOwnFastBinsStand) {
  EXPECT_FALSE(operator_sets_fast_bins(nullptr));
  EXPECT_FALSE(operator_sets_fast_bins("glibc.malloc.trim_threshold=0"));
  EXPECT_TRUE(operator_sets_fast_bins("glibc.malloc.arena_max=2:glibc.malloc.mxfast=64"));
}

TEST(MallocTuning, SmallFreedBlocksAreNotLeftForABulkMerge) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator ignores mallopt: nothing of glibc's to test";
#else
  if (!no_fast_bins()) GTEST_SKIP() << "this environment chooses glibc's fast bins";
  // 2,000 blocks of 32 bytes freed: past the thread cache's 7, glibc's default leaves them in
  // fast bins (mallinfo2's fsmblks: ~94 KB here), for the next large request to merge.
  constexpr std::size_t kBlocks = 2000;
  std::vector<void*> blocks(kBlocks);
  for (auto& b : blocks) b = std::malloc(32);
  const std::size_t before = ::mallinfo2().fsmblks;
  for (void* b : blocks) std::free(b);
  EXPECT_EQ(::mallinfo2().fsmblks, before) << "bytes of freed blocks left in fast bins";
#endif
}

}  // namespace
}  // namespace prober::cli
