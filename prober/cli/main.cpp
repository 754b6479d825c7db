#include <csignal>

#include <sys/resource.h>

#include "prober/cli/commands.hpp"
#include "prober/cli/malloc_tuning.hpp"

int main(int argc, char** argv) {
  // Thousands of journeys in flight need thousands of sockets: take every descriptor the hard
  // limit allows, so running out (recorded as invalid, local_resource) happens as late as can be.
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  // A peer that closes first (a scraper, a target, a store) must cost one failed write, not the
  // process: every socket write then reports EPIPE instead of raising SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
#ifndef PROBER_WITH_MIMALLOC
  // glibc's allocator serves malloc: tune it (malloc_tuning.hpp). mimalloc needs nothing.
  prober::cli::keep_freed_memory();
  prober::cli::no_fast_bins();
#endif
  return prober::cli::dispatch(argc, argv);
}
