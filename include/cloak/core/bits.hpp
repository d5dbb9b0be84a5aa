// cloak: bit tricks used by the ring layer (powers of two, bit reversal).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace cloak::inline v0::core {

/// True when x is a power of two (1, 2, 4, ...).
constexpr bool is_power_of_two(std::uint64_t x) noexcept {
    return std::has_single_bit(x);
}

/// floor(log2(x)) for x > 0.
constexpr int log2_floor(std::uint64_t x) noexcept {
    return std::bit_width(x) - 1;
}

/// ceil(log2(x)) for x > 0 (0 for x == 1).
constexpr std::size_t ceil_log2(std::uint64_t x) noexcept {
    return x <= 1 ? 0 : static_cast<std::size_t>(std::bit_width(x - 1));
}

static_assert(ceil_log2(1) == 0 && ceil_log2(2) == 1 && ceil_log2(3) == 2 && ceil_log2(8) == 3 &&
              ceil_log2(9) == 4);

/// Number of significant bits of x (0 for x == 0).
constexpr int bit_count(std::uint64_t x) noexcept {
    return static_cast<int>(std::bit_width(x));
}

/// Reverses the lowest `bits` bits of x; the higher bits must be zero.
constexpr std::uint64_t reverse_bits(std::uint64_t x, int bits) noexcept {
    if (bits == 0) {
        return 0;
    }
    x = ((x & 0x5555555555555555ULL) << 1) | ((x >> 1) & 0x5555555555555555ULL);
    x = ((x & 0x3333333333333333ULL) << 2) | ((x >> 2) & 0x3333333333333333ULL);
    x = ((x & 0x0F0F0F0F0F0F0F0FULL) << 4) | ((x >> 4) & 0x0F0F0F0F0F0F0F0FULL);
    x = ((x & 0x00FF00FF00FF00FFULL) << 8) | ((x >> 8) & 0x00FF00FF00FF00FFULL);
    x = ((x & 0x0000FFFF0000FFFFULL) << 16) | ((x >> 16) & 0x0000FFFF0000FFFFULL);
    x = (x << 32) | (x >> 32);
    return x >> (64 - bits);
}

static_assert(reverse_bits(1, 4) == 8);
static_assert(reverse_bits(0b0011, 4) == 0b1100);
static_assert(reverse_bits(5, 3) == 5);
static_assert(log2_floor(1024) == 10);

}  // namespace cloak::inline v0::core
