// cloak: which implementation a ring kernel runs, chosen at run time.
//
// The library is compiled for plain x86-64 (users build it without -march flags),
// so vector code is compiled per function for its own target and called only
// after the CPU has said it can run it. `Backend::automatic` takes the fastest
// implementation the CPU and the operands allow; the environment variable
// CLOAK_BACKEND=scalar turns the vector paths off for a whole process (to compare
// timings, or to rule the vector code out when chasing a bug). Nothing else
// global: every other choice is an explicit argument.
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>

#include <cloak/core/error.hpp>

namespace cloak::inline v0::ring {

/// An implementation of the ring kernels.
enum class Backend {
    automatic,   ///< the fastest one this CPU and these operands allow
    scalar,      ///< portable 64-bit code; always available
    avx512ifma,  ///< AVX-512 IFMA (52-bit multiply-add lanes); needs the CPU feature
};

/// Name of a backend, as in messages and CLOAK_BACKEND.
constexpr std::string_view backend_name(Backend backend) noexcept {
    switch (backend) {
        case Backend::automatic:
            return "automatic";
        case Backend::scalar:
            return "scalar";
        case Backend::avx512ifma:
            return "avx512ifma";
    }
    return "unknown";
}

/// True when this CPU (and the operating system) can run AVX-512 IFMA code:
/// AVX-512 F, VL, DQ, BW and IFMA. Checked once per process.
inline bool avx512ifma_available() noexcept {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    static const bool available = [] {
        __builtin_cpu_init();
        // __builtin_cpu_supports also checks that the OS saves the AVX-512 state.
        return __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512vl") != 0 &&
               __builtin_cpu_supports("avx512dq") != 0 && __builtin_cpu_supports("avx512bw") != 0 &&
               __builtin_cpu_supports("avx512ifma") != 0;
    }();
    return available;
#else
    return false;
#endif
}

namespace detail {

/// What CLOAK_BACKEND asks `automatic` to become: unset, empty or "automatic"
/// leave the choice to the CPU; "scalar" forces the portable code; "avx512ifma" is
/// the same as automatic (it never forces a path the CPU lacks). Any other value
/// is invalid and reported by the first kernel that runs.
struct EnvironmentBackend {
    Backend backend = Backend::automatic;
    bool valid = true;
    std::string text;
};

inline EnvironmentBackend parse_environment_backend(const char* value) {
    EnvironmentBackend result;
    if (value == nullptr) {
        return result;
    }
    result.text = value;
    if (result.text == backend_name(Backend::scalar)) {
        result.backend = Backend::scalar;
    } else if (!result.text.empty() && result.text != backend_name(Backend::automatic) &&
               result.text != backend_name(Backend::avx512ifma)) {
        result.valid = false;
    }
    return result;
}

/// CLOAK_BACKEND, read once per process.
inline const EnvironmentBackend& environment_backend() {
    // getenv is read once, before any thread of ours could change the environment.
    static const EnvironmentBackend choice =
        parse_environment_backend(std::getenv("CLOAK_BACKEND"));
    return choice;
}

/// Resolves `automatic` for a kernel whose vector path exists only when `vector_fits`
/// (for the NTT: q < 2^50). Explicit requests are checked: asking for avx512ifma on a
/// CPU without it, or for operands it cannot take, throws with the reason.
/// @throws InvalidArgumentError for an impossible explicit request or a bad CLOAK_BACKEND.
inline Backend resolve_backend(Backend requested, bool vector_fits, const char* where,
                               const char* vector_limit) {
    switch (requested) {
        case Backend::scalar:
            return Backend::scalar;
        case Backend::avx512ifma:
            if (!avx512ifma_available()) {
                throw InvalidArgumentError(cloak::detail::message(
                    where,
                    ": Backend::avx512ifma was requested but this CPU lacks AVX-512 IFMA "
                    "(avx512f, avx512vl, avx512dq, avx512bw, avx512ifma); use Backend::automatic "
                    "or Backend::scalar"));
            }
            if (!vector_fits) {
                throw InvalidArgumentError(
                    cloak::detail::message(where, ": Backend::avx512ifma needs ", vector_limit,
                                           "; use Backend::automatic or Backend::scalar"));
            }
            return Backend::avx512ifma;
        case Backend::automatic:
            break;
    }
    const EnvironmentBackend& environment = environment_backend();
    if (!environment.valid) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": environment variable CLOAK_BACKEND=\"", environment.text,
            "\" is not one of automatic, scalar, avx512ifma; unset it or fix its value"));
    }
    if (environment.backend == Backend::scalar || !vector_fits || !avx512ifma_available()) {
        return Backend::scalar;
    }
    return Backend::avx512ifma;
}

}  // namespace detail
}  // namespace cloak::inline v0::ring
