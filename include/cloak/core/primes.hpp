// cloak: NTT-friendly primes and roots of unity.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/modarith.hpp>

namespace cloak::inline v0::core {

/// Smallest and largest prime width the library generates, in bits.
inline constexpr int min_prime_bits = 20;
inline constexpr int max_prime_bits = max_modulus_bits;

/// Deterministic Miller-Rabin for every 64-bit n. The first twelve primes as
/// bases are a proven witness set below 3.3 * 10^24 (Sorenson and Webster 2015).
constexpr bool is_prime(std::uint64_t n) noexcept {
    constexpr std::array<std::uint64_t, 12> bases{2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    if (n < 2) {
        return false;
    }
    for (std::uint64_t p : bases) {
        if (n % p == 0) {
            return n == p;
        }
    }
    // n - 1 = d * 2^s with d odd.
    std::uint64_t d = n - 1;
    int s = 0;
    while ((d & 1) == 0) {
        d >>= 1;
        ++s;
    }
    // Modulus only accepts 61-bit values; 64-bit candidates use plain 128-bit products.
    const auto mul = [n](std::uint64_t a, std::uint64_t b) {
        return static_cast<std::uint64_t>(static_cast<uint128_t>(a) * b % n);
    };
    for (std::uint64_t a : bases) {
        std::uint64_t x = 1;
        std::uint64_t base = a;
        for (std::uint64_t e = d; e != 0; e >>= 1) {
            if ((e & 1) != 0) {
                x = mul(x, base);
            }
            base = mul(base, base);
        }
        if (x == 1 || x == n - 1) {
            continue;
        }
        bool composite = true;
        for (int i = 1; i < s && composite; ++i) {
            x = mul(x, x);
            composite = x != n - 1;
        }
        if (composite) {
            return false;
        }
    }
    return true;
}

static_assert(is_prime(2) && is_prime(3) && !is_prime(1) && !is_prime(561));
static_assert(is_prime(0x1FFFFFFFFFFFFFFFULL));    // 2^61 - 1, a Mersenne prime
static_assert(!is_prime(3825123056546413051ULL));  // strong pseudoprime to bases 2..23

/// Distinct primes q = 1 (mod two_n) of about `bits` bits, taken alternately just
/// above and just below 2^bits, nearest first, so that a scale of 2^bits stays close
/// to every prime (RNS-CKKS rescaling divides by the prime, not by 2^bits). Primes
/// are never wider than max_prime_bits: at the top width only primes below 2^bits
/// are used. Candidates stay in (2^(bits-1), 2^(bits+1)). Primes in `exclude` are skipped.
///
/// @throws InvalidArgumentError for bits outside [20, 61], two_n not a power of two
///         of at least 2, or too few primes of that form near 2^bits.
inline std::vector<std::uint64_t> generate_ntt_primes(int bits, std::size_t count,
                                                      std::uint64_t two_n,
                                                      std::span<const std::uint64_t> exclude = {}) {
    if (bits < min_prime_bits || bits > max_prime_bits) {
        throw InvalidArgumentError(cloak::detail::message(
            "core::generate_ntt_primes: prime size ", bits, " bits is outside [", min_prime_bits,
            ", ", max_prime_bits, "]; choose a size in range"));
    }
    if (two_n < 2 || !is_power_of_two(two_n) || two_n >= (std::uint64_t{1} << (bits - 1))) {
        throw InvalidArgumentError(cloak::detail::message(
            "core::generate_ntt_primes: 2N = ", two_n, " must be a power of two below 2^", bits - 1,
            " to have primes q = 1 mod 2N of ", bits, " bits"));
    }
    const std::uint64_t center = std::uint64_t{1} << bits;
    // Candidates stay within a factor of two of 2^bits on either side, and never
    // wider than max_prime_bits.
    const std::uint64_t upper_limit = std::uint64_t{1} << std::min(bits + 1, max_prime_bits);
    const auto excluded = [&](std::uint64_t q) {
        return std::find(exclude.begin(), exclude.end(), q) != exclude.end();
    };

    std::vector<std::uint64_t> primes;
    primes.reserve(count);
    std::uint64_t above = center + 1;          // candidates 2^bits + k * 2N + 1
    std::uint64_t below = center - two_n + 1;  // candidates 2^bits - k * 2N + 1
    const std::uint64_t lower_limit = std::uint64_t{1} << (bits - 1);
    bool above_open = above < upper_limit;
    bool below_open = true;
    bool take_above = true;
    while (primes.size() < count && (above_open || below_open)) {
        if (take_above && above_open) {
            while (above < upper_limit && (!is_prime(above) || excluded(above))) {
                above += two_n;
            }
            if (above < upper_limit) {
                primes.push_back(above);
                above += two_n;
            } else {
                above_open = false;
            }
        } else if (below_open) {
            while (below > lower_limit && (!is_prime(below) || excluded(below))) {
                below -= two_n;
            }
            if (below > lower_limit) {
                primes.push_back(below);
                below -= two_n;
            } else {
                below_open = false;
            }
        }
        take_above = !take_above;
    }
    if (primes.size() < count) {
        throw InvalidArgumentError(cloak::detail::message(
            "core::generate_ntt_primes: only ", primes.size(), " primes q = 1 mod ", two_n,
            " lie between 2^", bits - 1, " and 2^", std::min(bits + 1, max_prime_bits), ", but ",
            count, " were requested; use a larger prime size or a smaller ring degree"));
    }
    return primes;
}

/// True when root is a primitive two_n-th root of unity mod q (two_n a power of two).
inline bool is_primitive_root(std::uint64_t root, std::uint64_t two_n, const Modulus& q) {
    // For a power-of-two order, root^(2N/2) = -1 is equivalent to order exactly 2N.
    return root != 0 && pow_mod(root, two_n / 2, q) == q.value() - 1;
}

/// The smallest primitive two_n-th root of unity mod the prime q, so that tables
/// are the same on every machine and in every run.
///
/// @throws InvalidArgumentError when q is not prime or q != 1 (mod two_n).
inline std::uint64_t minimal_primitive_root(std::uint64_t two_n, const Modulus& q) {
    const std::uint64_t p = q.value();
    if (two_n < 2 || !is_power_of_two(two_n)) {
        throw InvalidArgumentError(cloak::detail::message("core::minimal_primitive_root: order ",
                                                          two_n,
                                                          " must be a power of two of at least 2"));
    }
    if (!is_prime(p) || (p - 1) % two_n != 0) {
        throw InvalidArgumentError(cloak::detail::message("core::minimal_primitive_root: modulus ",
                                                          p, " must be a prime with q = 1 mod ",
                                                          two_n));
    }
    // A non-residue x gives x^((q-1)/2N) of order exactly 2N; half of all x qualify.
    std::uint64_t root = 0;
    for (std::uint64_t x = 2; x < p; ++x) {
        const std::uint64_t candidate = pow_mod(x, (p - 1) / two_n, q);
        if (is_primitive_root(candidate, two_n, q)) {
            root = candidate;
            break;
        }
    }
    // Every primitive 2N-th root is root^k for odd k; keep the smallest.
    const std::uint64_t root_squared = mul_mod(root, root, q);
    std::uint64_t smallest = root;
    std::uint64_t power = root;
    for (std::uint64_t k = 3; k < two_n; k += 2) {
        power = mul_mod(power, root_squared, q);
        smallest = std::min(smallest, power);
    }
    return smallest;
}

}  // namespace cloak::inline v0::core
