// cloak: the one place that decides how loops of the ring layer run in parallel.
//
// Kernels split their work into independent items (one RNS limb, or one block of
// coefficients) and compute every item with the same instructions whatever
// thread runs it, so results are bit-identical for any OMP_NUM_THREADS. Small
// jobs stay on the calling thread, where waking a team costs more than the work;
// a loop reached from inside a parallel region (a caller that already splits its
// work across threads) also stays on its thread instead of oversubscribing.
#pragma once

#include <cstddef>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace cloak::inline v0::core {

/// Below this many word operations in total, a loop runs on the calling thread.
/// 2^15 operations take about 10-30 microseconds, several times the cost of
/// waking an OpenMP team.
inline constexpr std::size_t parallel_threshold = std::size_t{1} << 15;

/// Number of threads a parallel_for may use from here (1 without OpenMP, and 1
/// inside a parallel region).
[[nodiscard]] inline int available_threads() noexcept {
#if defined(_OPENMP)
    return omp_in_parallel() != 0 ? 1 : omp_get_max_threads();
#else
    return 1;
#endif
}

/// Calls body(i) for every i in [0, count), on OpenMP threads when count *
/// work_per_item reaches parallel_threshold, more than one thread is available
/// and the caller is not already inside a parallel region. Iterations must be
/// independent. `body` must not throw: an exception cannot leave an OpenMP
/// region (it would call std::terminate), so callers check their arguments
/// before the loop.
template <typename Body>
void parallel_for(std::size_t count, std::size_t work_per_item, Body&& body) {
#if defined(_OPENMP)
    const bool parallel = count > 1 && count * work_per_item >= parallel_threshold &&
                          omp_in_parallel() == 0 && omp_get_max_threads() > 1;
    if (parallel) {
        const auto signed_count = static_cast<long long>(count);
        // Static schedule: items are of equal size, and a fixed assignment keeps
        // each thread's memory traffic predictable.
#pragma omp parallel for schedule(static) if (parallel)
        for (long long i = 0; i < signed_count; ++i) {
            body(static_cast<std::size_t>(i));
        }
        return;
    }
#else
    (void)work_per_item;
#endif
    for (std::size_t i = 0; i < count; ++i) {
        body(i);
    }
}

}  // namespace cloak::inline v0::core
