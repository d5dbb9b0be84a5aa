// cloak: the RLWE security bound.
//
// Largest log2(QP) that keeps 128-bit classical security with a uniform ternary
// secret and error sigma = 3.2, by ring degree: the HomomorphicEncryption.org
// standard (Albrecht et al., "Homomorphic Encryption Standard", 2018, Table 1)
// for N = 2^10 to 2^15, and OpenFHE's extension of that table for 2^16 and 2^17.
#pragma once

#include <array>
#include <cstddef>

#include <cloak/core/bits.hpp>

namespace cloak::inline v0::rlwe {

/// How strictly parameters are held to the security bound.
enum class Security {
    /// 128-bit classical security (the default): larger moduli are refused.
    classical128,
    /// No bound at all. For tests and toy demos only; every object built on such
    /// parameters says INSECURE when printed.
    insecure_for_testing_only,
};

namespace detail {
inline constexpr std::array<int, 8> max_log_qp_128_table{27, 54, 109, 218, 438, 881, 1747, 3523};
}  // namespace detail

/// Largest log2(QP) with 128-bit classical security at ring degree 2^log_n, or 0
/// when log_n is outside [10, 17].
constexpr int max_log_qp_128(int log_n) noexcept {
    if (log_n < 10 || log_n > 17) {
        return 0;
    }
    return detail::max_log_qp_128_table[static_cast<std::size_t>(log_n - 10)];
}

static_assert(max_log_qp_128(13) == 218);
static_assert(max_log_qp_128(14) == 438);
static_assert(max_log_qp_128(15) == 881);
static_assert(max_log_qp_128(16) == 1747);
static_assert(max_log_qp_128(9) == 0 && max_log_qp_128(18) == 0);

}  // namespace cloak::inline v0::rlwe
