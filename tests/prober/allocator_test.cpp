// The allocator the prober binary links (prober/cli/malloc_tuning.hpp), linked into this test
// the same way (meson's allocator_dep): what holds here holds in the binary.

#include <cstdlib>
#include <memory>

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <mimalloc.h>

#include "prober/cli/malloc_tuning.hpp"

namespace {

using testing::StartsWith;

// Linking the library is not enough: it must come before the C library in the process's
// lookup order, for our calls and for curl's, which resolve malloc through curl's own tables.
TEST(Allocator, MimallocServesEveryMallocCurlsIncluded) {
  EXPECT_THAT(prober::cli::malloc_provider(), StartsWith("libmimalloc.so"));
  void* p = std::malloc(24);
  EXPECT_TRUE(mi_is_in_heap_region(p)) << "malloc";
  std::free(p);
  auto q = std::make_unique<int>(1);
  EXPECT_TRUE(mi_is_in_heap_region(q.get())) << "operator new";
  CURL* h = curl_easy_init();
  ASSERT_NE(h, nullptr);
  EXPECT_TRUE(mi_is_in_heap_region(h)) << "curl's own allocation";
  curl_easy_cleanup(h);
}

}  // namespace
