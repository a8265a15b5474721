// Deterministic fork-join over an index range.
//
// The range [0, n) is cut into contiguous chunks, one per worker, and every
// output element is computed by exactly one worker from its own inputs only:
// results are bit-identical for any worker count and any split of the batch.
// The first exception thrown by a worker is rethrown after all have joined.
// Small ranges (fewer than `grain` items per extra worker) run inline.
#pragma once
#include <algorithm>
#include <cstddef>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ds {

// -1 (or any negative) → all hardware threads; 0 is rejected; n ≥ 1 → n.
inline int resolve_workers(int workers) {
  if (workers == 0) throw std::invalid_argument("workers must be >= 1, or -1 for all cores; got 0");
  if (workers < 0) {
    if (workers != -1)
      throw std::invalid_argument("workers must be >= 1, or -1 for all cores; got " + std::to_string(workers));
    const unsigned hc = std::thread::hardware_concurrency();
    return hc == 0 ? 1 : static_cast<int>(hc);
  }
  return workers;
}

template <class F>
void parallel_for(std::size_t n, int workers, std::size_t grain, F&& fn) {
  if (n == 0) return;
  if (grain == 0) grain = 1;
  std::size_t w = static_cast<std::size_t>(workers < 1 ? 1 : workers);
  w = std::min(w, (n + grain - 1) / grain);
  if (w <= 1) {
    fn(std::size_t{0}, n);
    return;
  }
  std::exception_ptr first;
  std::mutex mu;
  std::vector<std::thread> threads;
  threads.reserve(w - 1);
  const std::size_t base = n / w, extra = n % w;
  auto run = [&](std::size_t lo, std::size_t hi) {
    try {
      fn(lo, hi);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!first) first = std::current_exception();
    }
  };
  std::size_t lo = 0;
  std::size_t first_hi = 0;
  for (std::size_t t = 0; t < w; ++t) {
    const std::size_t hi = lo + base + (t < extra ? 1 : 0);
    if (t == 0) {
      first_hi = hi;
    } else {
      try {
        threads.emplace_back(run, lo, hi);
      } catch (...) {
        run(lo, hi);  // could not spawn: do the chunk here
      }
    }
    lo = hi;
  }
  run(0, first_hi);
  for (auto& th : threads) th.join();
  if (first) std::rethrow_exception(first);
}

}  // namespace ds
