// cloak: modular arithmetic on 64-bit words.
//
// Moduli are odd and below 2^62 (primes for the ring layer are at most 61 bits),
// so that lazy values in [0, 4q) still fit a word. Products go through unsigned
// __int128. Barrett reduction uses floor(2^128 / q) as in Barrett (CRYPTO 1986)
// and SEAL's util/uintarithsmallmod.h; multiplication by a constant known in
// advance uses Shoup's precomputed quotient (Shoup, NTL; Harvey 2014, section 2).
#pragma once

#include <cstdint>

#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>

namespace cloak::inline v0::core {

__extension__ typedef unsigned __int128 uint128_t;

/// Largest modulus width the library accepts, in bits.
inline constexpr int max_modulus_bits = 61;

/// High word of the full product a * b.
constexpr std::uint64_t mul_high(std::uint64_t a, std::uint64_t b) noexcept {
    return static_cast<std::uint64_t>((static_cast<uint128_t>(a) * b) >> 64);
}

/// A modulus with its Barrett constant floor(2^128 / q), stored as two words.
class Modulus {
  public:
    constexpr Modulus() noexcept = default;

    /// @throws InvalidArgumentError when q < 2 or q is wider than max_modulus_bits.
    constexpr explicit Modulus(std::uint64_t q) : value_(q) {
        if (q < 2 || bit_count(q) > max_modulus_bits) {
            throw InvalidArgumentError(cloak::detail::message(
                "core::Modulus: modulus ", q, " has ", bit_count(q),
                " bits; it must be at least 2 and at most ", max_modulus_bits, " bits"));
        }
        // floor(2^128 / q) = (2^128 - 1) / q unless q divides 2^128 (q a power of two).
        uint128_t ratio = ~static_cast<uint128_t>(0) / q;
        if (is_power_of_two(q)) {
            ratio += 1;  // never overflows: q >= 2
        }
        ratio_high_ = static_cast<std::uint64_t>(ratio >> 64);
        ratio_low_ = static_cast<std::uint64_t>(ratio);
    }

    [[nodiscard]] constexpr std::uint64_t value() const noexcept { return value_; }
    [[nodiscard]] constexpr int bits() const noexcept { return bit_count(value_); }
    /// floor(2^128 / q) >> 64, which equals floor(2^64 / q).
    [[nodiscard]] constexpr std::uint64_t ratio_high() const noexcept { return ratio_high_; }
    /// Low word of floor(2^128 / q).
    [[nodiscard]] constexpr std::uint64_t ratio_low() const noexcept { return ratio_low_; }

    /// x mod q for any 64-bit x (Barrett with floor(2^64 / q)).
    [[nodiscard]] constexpr std::uint64_t reduce(std::uint64_t x) const noexcept {
        const std::uint64_t quotient = mul_high(x, ratio_high_);
        std::uint64_t r = x - quotient * value_;  // in [0, 2q)
        return r >= value_ ? r - value_ : r;
    }

    /// x mod q for any 128-bit x.
    [[nodiscard]] constexpr std::uint64_t reduce(uint128_t x) const noexcept {
        const auto x0 = static_cast<std::uint64_t>(x);
        const auto x1 = static_cast<std::uint64_t>(x >> 64);
        // floor(x * ratio / 2^128), computed exactly from the four partial products.
        const uint128_t low_cross = static_cast<uint128_t>(x0) * ratio_high_ +
                                    mul_high(x0, ratio_low_);  // < 2^128: no overflow
        const uint128_t high_cross = static_cast<uint128_t>(x1) * ratio_low_;
        const uint128_t middle = (low_cross & ~std::uint64_t{0}) + (high_cross & ~std::uint64_t{0});
        const std::uint64_t quotient =
            x1 * ratio_high_ + static_cast<std::uint64_t>(low_cross >> 64) +
            static_cast<std::uint64_t>(high_cross >> 64) + static_cast<std::uint64_t>(middle >> 64);
        std::uint64_t r = x0 - quotient * value_;  // in [0, 2q)
        return r >= value_ ? r - value_ : r;
    }

    friend constexpr bool operator==(const Modulus& a, const Modulus& b) noexcept {
        return a.value_ == b.value_;
    }

  private:
    std::uint64_t value_ = 0;
    std::uint64_t ratio_high_ = 0;
    std::uint64_t ratio_low_ = 0;
};

/// (a + b) mod q for a, b in [0, q).
constexpr std::uint64_t add_mod(std::uint64_t a, std::uint64_t b, std::uint64_t q) noexcept {
    const std::uint64_t s = a + b;
    return s >= q ? s - q : s;
}

/// (a - b) mod q for a, b in [0, q).
constexpr std::uint64_t sub_mod(std::uint64_t a, std::uint64_t b, std::uint64_t q) noexcept {
    return a >= b ? a - b : a + q - b;
}

/// (-a) mod q for a in [0, q).
constexpr std::uint64_t neg_mod(std::uint64_t a, std::uint64_t q) noexcept {
    return a == 0 ? 0 : q - a;
}

/// (a * b) mod q for any 64-bit a, b.
constexpr std::uint64_t mul_mod(std::uint64_t a, std::uint64_t b, const Modulus& q) noexcept {
    return q.reduce(static_cast<uint128_t>(a) * b);
}

/// Shoup's precomputed quotient floor(w * 2^64 / q) for a constant w in [0, q).
constexpr std::uint64_t shoup_precompute(std::uint64_t w, std::uint64_t q) noexcept {
    return static_cast<std::uint64_t>((static_cast<uint128_t>(w) << 64) / q);
}

/// x * w mod q in [0, 2q), for any 64-bit x, with w_shoup = shoup_precompute(w, q).
constexpr std::uint64_t mul_shoup_lazy(std::uint64_t x, std::uint64_t w, std::uint64_t w_shoup,
                                       std::uint64_t q) noexcept {
    return x * w - mul_high(x, w_shoup) * q;
}

/// x * w mod q in [0, q), for any 64-bit x, with w_shoup = shoup_precompute(w, q).
constexpr std::uint64_t mul_shoup(std::uint64_t x, std::uint64_t w, std::uint64_t w_shoup,
                                  std::uint64_t q) noexcept {
    const std::uint64_t r = mul_shoup_lazy(x, w, w_shoup, q);
    return r >= q ? r - q : r;
}

/// A constant multiplier with its Shoup quotient, for repeated use mod one q.
struct ShoupConstant {
    std::uint64_t value = 0;
    std::uint64_t quotient = 0;

    constexpr ShoupConstant() noexcept = default;
    constexpr ShoupConstant(std::uint64_t w, std::uint64_t q) noexcept
        : value(w), quotient(shoup_precompute(w, q)) {}
};

/// base^exponent mod q.
constexpr std::uint64_t pow_mod(std::uint64_t base, std::uint64_t exponent,
                                const Modulus& q) noexcept {
    std::uint64_t result = q.reduce(std::uint64_t{1});
    base = q.reduce(base);
    while (exponent != 0) {
        if ((exponent & 1) != 0) {
            result = mul_mod(result, base, q);
        }
        base = mul_mod(base, base, q);
        exponent >>= 1;
    }
    return result;
}

/// a^-1 mod q by the extended Euclidean algorithm.
/// @throws InvalidArgumentError when gcd(a, q) != 1.
constexpr std::uint64_t inverse_mod(std::uint64_t a, std::uint64_t q) {
    if (q < 2) {
        throw InvalidArgumentError(
            cloak::detail::message("core::inverse_mod: modulus ", q, " must be at least 2"));
    }
    // Invariants: r0 = s0 * a (mod q), r1 = s1 * a (mod q), with signed Bezout coefficients.
    std::int64_t s0 = 0;
    std::int64_t s1 = 1;
    std::uint64_t r0 = q;
    std::uint64_t r1 = a % q;
    while (r1 != 0) {
        const std::uint64_t quotient = r0 / r1;
        const std::uint64_t r2 = r0 - quotient * r1;
        const std::int64_t s2 = s0 - static_cast<std::int64_t>(quotient) * s1;
        r0 = r1;
        r1 = r2;
        s0 = s1;
        s1 = s2;
    }
    if (r0 != 1) {
        throw InvalidArgumentError(
            cloak::detail::message("core::inverse_mod: ", a, " has no inverse modulo ", q,
                                   " (gcd is ", r0, "); the modulus must be coprime to it"));
    }
    return s0 < 0 ? q - static_cast<std::uint64_t>(-s0) : static_cast<std::uint64_t>(s0);
}

static_assert(Modulus(97).reduce(std::uint64_t{1000}) == 1000 % 97);
static_assert(mul_mod(96, 96, Modulus(97)) == 1);
static_assert(inverse_mod(3, 7) == 5);
static_assert(pow_mod(3, 6, Modulus(7)) == 1);
static_assert(mul_shoup(12345, 678, shoup_precompute(678, 1000003), 1000003) ==
              12345ULL * 678 % 1000003);

}  // namespace cloak::inline v0::core
