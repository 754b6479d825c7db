#include "prober/engine/workers.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>

namespace prober::engine {

Workers::Loop::Loop(std::chrono::milliseconds stall_threshold, std::size_t loops)
    : client(io, loops), stall_threshold_(stall_threshold) {}

void Workers::Loop::tick() {
  const auto now = std::chrono::steady_clock::now();
  const auto late = now - next_tick_;
  if (late > stall_threshold_) {
    const double ms = std::chrono::duration<double, std::milli>(late).count();
    ++stalls_;
    last_stall_ms_ = ms;
    stall_count_.fetch_add(1);
    double seen = stall_max_ms_.load();
    while (ms > seen && !stall_max_ms_.compare_exchange_weak(seen, ms)) {
    }
  }
  next_tick_ = now + std::chrono::milliseconds(100);
  ticker_.expires_at(next_tick_);
  ticker_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

Workers::Workers(std::size_t n, std::chrono::milliseconds stall_threshold) {
  n = std::max<std::size_t>(n, 1);
  loops_.reserve(n);
  try {
    start(n, stall_threshold);
  } catch (...) {
    stop();
    throw;
  }
}

void Workers::start(std::size_t n, std::chrono::milliseconds stall_threshold) {
  for (std::size_t i = 0; i < n; ++i) {
    auto loop = std::make_unique<Loop>(stall_threshold, n);
    loop->guard_.emplace(loop->io.get_executor());
    loop->next_tick_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    loop->ticker_.expires_at(loop->next_tick_);
    Loop* l = loop.get();
    loop->ticker_.async_wait([l](const boost::system::error_code& ec) {
      if (!ec) l->tick();
    });
    loop->thread_ = std::thread([l, i] {
      for (;;) {
        try {
          l->io.run();
          return;
        } catch (const std::exception& e) {  // a handler threw: say so, and go on
          std::fprintf(stderr, "prober: internal error on event loop %zu: %s\n", i, e.what());
        } catch (...) {
          std::fprintf(stderr, "prober: internal error on event loop %zu\n", i);
        }
      }
    });
    loops_.push_back(std::move(loop));
  }
}

Workers::~Workers() { stop(); }

void Workers::stop() {
  for (auto& l : loops_) {
    if (!l->thread_.joinable()) continue;
    l->guard_.reset();
    l->io.stop();
    l->thread_.join();
  }
}

}  // namespace prober::engine
