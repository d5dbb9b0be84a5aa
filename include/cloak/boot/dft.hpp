// cloak: the special FFT of CKKS encoding as a product of sparse slot matrices,
// for the homomorphic CoeffToSlot and SlotToCoeff of bootstrapping.
//
// ring::SpecialFft::embed (coefficients -> slots) is a bit-reversal permutation
// followed by log2(n) butterfly stages S_2, S_4, ..., S_n; project is its exact
// inverse, stages S'_n, ..., S'_2 then the bit reversal and 1/n. Each stage,
// as an n x n matrix acting on slots, has only three non-zero diagonals (0, h
// and n - h for half-length h), so a group of k consecutive stages has at most
// 2^(k+1) - 1 diagonals: the transform costs one level per group, with few
// rotations per level (Chen, Chillotti, Song 2019; Han, Ki 2020, section 4).
//
// The bit reversal is never evaluated: CoeffToSlot stops before it (its output
// slots hold the coefficients in bit-reversed order), EvalMod works slot by
// slot, and SlotToCoeff starts after it. The roots are exactly those of
// ring::SpecialFft (zeta_{4 len}^(5^j)), so these matrices are the encoder's own
// transform; tests/boot_test.cpp checks them against it in double precision.
#pragma once

#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <map>
#include <numbers>
#include <vector>

#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>

namespace cloak::inline v0::boot {

/// Diagonal index i -> diag_i[j] = M[j][(j + i) mod n] (ckks::LinearTransform's form).
using SlotDiagonals = std::map<std::size_t, std::vector<std::complex<double>>>;

namespace detail {

/// zeta_{4 len}^(5^j mod 4 len), the twiddle of butterfly j in a stage of length len.
inline std::complex<double> fft_root(std::size_t len, std::size_t j) {
    const std::uint64_t order = 4 * static_cast<std::uint64_t>(len);
    std::uint64_t power = 1;
    for (std::size_t i = 0; i < j; ++i) {
        power = power * 5 % order;
    }
    const long double angle = 2.0L * std::numbers::pi_v<long double> *
                              static_cast<long double>(power) / static_cast<long double>(order);
    return {static_cast<double>(std::cos(angle)), static_cast<double>(std::sin(angle))};
}

/// The butterfly stage of length len on n slots: embed's (forward) or project's
/// (inverse, without its 1/2).
inline SlotDiagonals fft_stage(std::size_t n, std::size_t len, bool inverse) {
    const std::size_t half = len / 2;
    std::vector<std::complex<double>> main(n), up(n, 0.0), down(n, 0.0);
    for (std::size_t start = 0; start < n; start += len) {
        for (std::size_t j = 0; j < half; ++j) {
            const std::complex<double> w = inverse ? std::conj(fft_root(len, j)) : fft_root(len, j);
            const std::size_t top = start + j;
            const std::size_t bottom = top + half;
            if (inverse) {
                // out[top] = in[top] + in[bottom]; out[bottom] = (in[top] - in[bottom]) w
                main[top] = 1.0;
                up[top] = 1.0;
                main[bottom] = -w;
                down[bottom] = w;
            } else {
                // out[top] = in[top] + w in[bottom]; out[bottom] = in[top] - w in[bottom]
                main[top] = 1.0;
                up[top] = w;
                main[bottom] = -w;
                down[bottom] = 1.0;
            }
        }
    }
    SlotDiagonals stage;
    stage[0] = std::move(main);
    if (half == n - half) {  // len = n: up and down are the same diagonal, n / 2
        for (std::size_t r = 0; r < n; ++r) {
            up[r] += down[r];
        }
        stage[half] = std::move(up);
    } else {
        stage[half] = std::move(up);
        stage[n - half] = std::move(down);
    }
    return stage;
}

/// The product A B of two n x n matrices in diagonal form.
inline SlotDiagonals multiply(const SlotDiagonals& a, const SlotDiagonals& b, std::size_t n) {
    SlotDiagonals product;
    for (const auto& [i, da] : a) {
        for (const auto& [k, db] : b) {
            std::vector<std::complex<double>>& out = product[(i + k) % n];
            if (out.empty()) {
                out.assign(n, 0.0);
            }
            for (std::size_t r = 0; r < n; ++r) {
                out[r] += da[r] * db[(r + i) % n];
            }
        }
    }
    return product;
}

/// Stage counts of `groups` groups over `stages` stages, larger groups first.
inline std::vector<std::size_t> group_sizes(std::size_t stages, std::size_t groups) {
    std::vector<std::size_t> sizes(groups, stages / groups);
    for (std::size_t g = 0; g < stages % groups; ++g) {
        ++sizes[g];
    }
    return sizes;
}

inline void check_fft_shape(std::size_t n, std::size_t levels, const char* where) {
    if (n < 2 || !core::is_power_of_two(n)) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": ", n, " slots; the homomorphic FFT needs a power of two of at least 2"));
    }
    const auto stages = static_cast<std::size_t>(core::log2_floor(n));
    if (levels < 1 || levels > stages) {
        throw InvalidArgumentError(cloak::detail::message(where, ": ", levels, " levels for the ",
                                                          stages, " stages of a ", n,
                                                          "-slot FFT; choose 1 to ", stages));
    }
}

}  // namespace detail

/// CoeffToSlot's matrices, in the order they are applied: slots z (the
/// embedding of c, c_k = m_k + i m_{k+n}) become factor * c in bit-reversed
/// order, c = project(z). The stages S'_n .. S'_2 with 1/2 each, in `levels` groups.
/// @throws InvalidArgumentError for n not a power of two >= 2 or levels outside [1, log2 n].
[[nodiscard]] inline std::vector<SlotDiagonals> coeffs_to_slots_matrices(std::size_t n,
                                                                         std::size_t levels,
                                                                         double factor) {
    detail::check_fft_shape(n, levels, "boot::coeffs_to_slots_matrices");
    const auto stages = static_cast<std::size_t>(core::log2_floor(n));
    std::vector<SlotDiagonals> matrices;
    std::size_t len = n;
    bool first = true;
    for (std::size_t size : detail::group_sizes(stages, levels)) {
        SlotDiagonals group;
        for (std::size_t s = 0; s < size; ++s, len /= 2) {
            SlotDiagonals stage = detail::fft_stage(n, len, true);
            const double weight = first ? 0.5 * factor : 0.5;
            first = false;
            for (auto& [index, diagonal] : stage) {
                for (std::complex<double>& v : diagonal) {
                    v *= weight;
                }
            }
            group = group.empty() ? std::move(stage) : detail::multiply(stage, group, n);
        }
        matrices.push_back(std::move(group));
    }
    return matrices;
}

/// SlotToCoeff's matrices, in the order they are applied: slots holding c in
/// bit-reversed order become factor * embed(c). The stages S_2 .. S_n, in
/// `levels` groups.
/// @throws InvalidArgumentError for n not a power of two >= 2 or levels outside [1, log2 n].
[[nodiscard]] inline std::vector<SlotDiagonals> slots_to_coeffs_matrices(std::size_t n,
                                                                         std::size_t levels,
                                                                         double factor) {
    detail::check_fft_shape(n, levels, "boot::slots_to_coeffs_matrices");
    const auto stages = static_cast<std::size_t>(core::log2_floor(n));
    std::vector<SlotDiagonals> matrices;
    std::size_t len = 2;
    // The factor is spread evenly over the groups: each group's diagonals are
    // encoded at about its prime's scale, and a tiny factor on one group alone
    // (q0 / (2 pi S) is about 2^-15 in bootstrapping) would cost that group as
    // many bits of encoding precision.
    const double per_group = std::pow(factor, 1.0 / static_cast<double>(levels));
    for (std::size_t size : detail::group_sizes(stages, levels)) {
        SlotDiagonals group;
        for (std::size_t s = 0; s < size; ++s, len *= 2) {
            SlotDiagonals stage = detail::fft_stage(n, len, false);
            if (s == 0) {
                for (auto& [index, diagonal] : stage) {
                    for (std::complex<double>& v : diagonal) {
                        v *= per_group;
                    }
                }
            }
            group = group.empty() ? std::move(stage) : detail::multiply(stage, group, n);
        }
        matrices.push_back(std::move(group));
    }
    return matrices;
}

/// The 2n x 2n matrix [[a M, b M], [c M, d M]] of an n x n matrix M, in diagonal
/// form. Sparse-slot bootstrapping works on 2n slots around its n-slot FFTs:
/// CoeffToSlot's last matrix widened with (1, 0, -i, 0) maps the replicated input
/// [v, v] to [M v, -i M v], whose real part [Re M v, Im M v] a conjugation
/// extracts, so one EvalMod covers both halves; SlotToCoeff's first matrix
/// widened with (1, i, 1, i) maps [re, im] back to the replicated M (re + i im).
[[nodiscard]] inline SlotDiagonals widen(const SlotDiagonals& m, std::size_t n,
                                         std::complex<double> a, std::complex<double> b,
                                         std::complex<double> c, std::complex<double> d) {
    const std::size_t wide = 2 * n;
    const std::complex<double> blocks[2][2] = {{a, b}, {c, d}};
    SlotDiagonals out;
    for (const auto& [index, diagonal] : m) {
        for (std::size_t row_block = 0; row_block < 2; ++row_block) {
            for (std::size_t col_block = 0; col_block < 2; ++col_block) {
                const std::complex<double> weight = blocks[row_block][col_block];
                if (weight == 0.0) {
                    continue;
                }
                // Entry (r, (r + index) mod n) of the block sits at row
                // row_block n + r, column col_block n + (r + index) mod n.
                for (std::size_t r = 0; r < n; ++r) {
                    const std::size_t row = row_block * n + r;
                    const std::size_t col = col_block * n + (r + index) % n;
                    std::vector<std::complex<double>>& target = out[(col + wide - row) % wide];
                    if (target.empty()) {
                        target.assign(wide, 0.0);
                    }
                    target[row] += weight * diagonal[r];
                }
            }
        }
    }
    return out;
}

/// The matrices applied to a vector in plain double precision (for tests).
[[nodiscard]] inline std::vector<std::complex<double>> apply_slot_matrices(
    const std::vector<SlotDiagonals>& matrices, std::vector<std::complex<double>> x) {
    const std::size_t n = x.size();
    for (const SlotDiagonals& m : matrices) {
        std::vector<std::complex<double>> y(n, 0.0);
        for (const auto& [i, d] : m) {
            for (std::size_t r = 0; r < n; ++r) {
                y[r] += d[r] * x[(r + i) % n];
            }
        }
        x = std::move(y);
    }
    return x;
}

}  // namespace cloak::inline v0::boot
