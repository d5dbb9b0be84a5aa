// cloak: the one place that decides how loops over RNS limbs run in parallel.
//
// Kernels split work by limb (one prime each), so every thread count computes
// the same values in the same order per limb: results are bit-identical for any
// OMP_NUM_THREADS. Small jobs stay on the calling thread, where a fork would
// cost more than the work.
#pragma once

#include <cstddef>

namespace cloak::inline v0::core {

/// Below this many word operations in total, a loop runs on one thread.
inline constexpr std::size_t parallel_threshold = std::size_t{1} << 15;

/// Calls body(i) for i in [0, count), on OpenMP threads when count * work_per_item
/// reaches parallel_threshold and the caller is not already in a parallel region.
template <typename Body>
void parallel_for(std::size_t count, std::size_t work_per_item, Body&& body) {
    const bool parallel = count > 1 && count * work_per_item >= parallel_threshold;
    const auto signed_count = static_cast<long long>(count);
#pragma omp parallel for schedule(static) if (parallel)
    for (long long i = 0; i < signed_count; ++i) {
        body(static_cast<std::size_t>(i));
    }
}

}  // namespace cloak::inline v0::core
