// cloak: randomness: fresh entropy, seeded streams, and the lattice samplers.
//
// Fresh entropy comes from libsodium's randombytes_buf (the operating system's
// CSPRNG). Everything else is expanded from a 32-byte seed by ChaCha20 (Bernstein
// 2008), so a serialized object can store a seed instead of a uniform polynomial,
// and a test can replay a key generation exactly.
//
// The samplers follow the HomomorphicEncryption.org standard (Albrecht et al.
// 2018, section 2.1): secrets uniform ternary (or sparse ternary with a fixed
// Hamming weight), errors discrete Gaussian with sigma = 3.2. Rejection steps
// only ever discard draws, so how long a sampler runs says nothing about the
// values it accepted.
#pragma once

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>

namespace cloak::inline v0::core {

/// A 32-byte seed: the ChaCha20 key of a Prng.
using Seed = std::array<std::uint8_t, 32>;

namespace detail {

/// Initialises libsodium once per process. A function-local static is
/// initialised exactly once even when threads race ([stmt.dcl]), and
/// sodium_init is itself thread-safe; -1 means no usable entropy source.
/// @throws RandomnessError when sodium_init fails.
inline void ensure_sodium(const char* function) {
    static const int status = sodium_init();
    if (status < 0) {
        throw RandomnessError(cloak::detail::message(
            function,
            ": libsodium could not be initialised (sodium_init returned -1), so "
            "the operating system's entropy source is unavailable; check that /dev/urandom (or "
            "getrandom) is accessible to this process"));
    }
}

/// x as 8 little-endian bytes: the stream layout is the same on every platform,
/// so a stored seed expands to the same polynomial everywhere.
inline std::array<std::uint8_t, 8> little_endian_bytes(std::uint64_t x) noexcept {
    std::array<std::uint8_t, 8> bytes{};
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        bytes[i] = static_cast<std::uint8_t>(x >> (8 * i));
    }
    return bytes;
}

}  // namespace detail

/// 32 bytes of fresh entropy from the operating system (libsodium randombytes_buf).
/// @throws RandomnessError when libsodium cannot be initialised.
[[nodiscard]] inline Seed random_seed() {
    detail::ensure_sodium("core::random_seed");
    Seed seed{};
    randombytes_buf(seed.data(), seed.size());
    return seed;
}

/// A deterministic cryptographic stream: the ChaCha20 keystream of a 32-byte seed.
///
/// The construction is libsodium's crypto_stream_chacha20 (the original ChaCha20
/// with a 64-bit nonce and a 64-bit block counter), keyed by the seed, with the
/// stream id in little-endian order as the nonce. Distinct stream ids give
/// independent streams from one seed (domain separation: one seed can feed the
/// "a" polynomial of every key-switching key). The 64-bit counter never wraps in
/// practice (2^70 bytes per stream), unlike the 32-bit counter of the IETF variant
/// (256 GiB). The stream is produced 4 KiB (64 ChaCha blocks) at a time.
///
/// Copies continue the same stream: a copy and its original produce the same
/// bytes from the point of copying on, independently. Copy a Prng only to replay
/// it; two parties that need independent randomness need distinct stream ids.
/// A Prng is not safe to use from several threads at once; give each thread its
/// own stream id. The destructor wipes the seed and the buffered keystream.
class Prng {
  public:
    /// The stream `stream_id` of `seed`.
    /// @throws RandomnessError when libsodium cannot be initialised.
    explicit Prng(const Seed& seed, std::uint64_t stream_id = 0)
        : seed_(seed), nonce_(detail::little_endian_bytes(stream_id)) {
        detail::ensure_sodium("core::Prng");
    }

    /// Stream 0 of a fresh seed from random_seed().
    /// @throws RandomnessError when libsodium cannot be initialised.
    [[nodiscard]] static Prng from_entropy() {
        Seed seed = random_seed();
        Prng prng(seed);
        sodium_memzero(seed.data(), seed.size());
        return prng;
    }

    Prng(const Prng&) = default;
    Prng& operator=(const Prng&) = default;
    // No separate moves: a move copies (std::array members have nothing to steal),
    // and the moved-from object still wipes its copy when destroyed.

    ~Prng() {
        sodium_memzero(seed_.data(), seed_.size());
        sodium_memzero(buffer_.data(), buffer_.size());
    }

    /// The seed this stream expands (to store beside a seeded polynomial).
    [[nodiscard]] const Seed& seed() const noexcept { return seed_; }

    /// Writes the next out.size() bytes of the stream into out.
    void fill(std::span<std::uint8_t> out) {
        std::size_t written = 0;
        while (written < out.size()) {
            if (position_ == buffer_.size()) {
                refill();
            }
            const std::size_t take = std::min(out.size() - written, buffer_.size() - position_);
            std::copy_n(buffer_.begin() + static_cast<std::ptrdiff_t>(position_), take,
                        out.begin() + static_cast<std::ptrdiff_t>(written));
            position_ += take;
            written += take;
        }
    }

    /// The next 8 bytes of the stream, read as a little-endian word.
    [[nodiscard]] std::uint64_t next_u64() {
        std::array<std::uint8_t, 8> bytes{};
        if (buffer_.size() - position_ >= bytes.size()) {
            std::copy_n(buffer_.begin() + static_cast<std::ptrdiff_t>(position_), bytes.size(),
                        bytes.begin());
            position_ += bytes.size();
        } else {
            fill(bytes);  // straddles a refill
        }
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            value |= std::uint64_t{bytes[i]} << (8 * i);
        }
        return value;
    }

    /// The next byte of the stream.
    [[nodiscard]] std::uint8_t next_byte() {
        if (position_ == buffer_.size()) {
            refill();
        }
        return buffer_[position_++];
    }

  private:
    static constexpr std::size_t block_bytes = 64;  // one ChaCha20 block

    void refill() {
        // XOR of the keystream into zeros is the keystream; xor_ic starts it at
        // block `counter_`, so consecutive refills continue one stream.
        std::fill(buffer_.begin(), buffer_.end(), std::uint8_t{0});
        crypto_stream_chacha20_xor_ic(buffer_.data(), buffer_.data(), buffer_.size(), nonce_.data(),
                                      counter_, seed_.data());
        counter_ += buffer_.size() / block_bytes;
        position_ = 0;
    }

    Seed seed_;
    std::array<std::uint8_t, crypto_stream_chacha20_NONCEBYTES> nonce_;
    std::array<std::uint8_t, 4096> buffer_{};
    std::size_t position_ = 4096;  // empty: the first read refills
    std::uint64_t counter_ = 0;    // the ChaCha20 block index of the next refill
};

static_assert(crypto_stream_chacha20_NONCEBYTES == 8, "the stream id is the 64-bit nonce");
static_assert(crypto_stream_chacha20_KEYBYTES == std::tuple_size_v<Seed>);

namespace detail {

/// An unbiased integer in [0, bound), bound >= 1: words below 2^64 mod bound are
/// rejected, so every residue has floor(2^64 / bound) preimages (the threshold
/// rejection of OpenBSD's arc4random_uniform; fewer than half of all draws are
/// ever rejected).
inline std::uint64_t uniform_below(Prng& prng, std::uint64_t bound) {
    const std::uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
    std::uint64_t x = 0;
    do {
        x = prng.next_u64();
    } while (x < threshold);
    return x % bound;
}

}  // namespace detail

/// Uniform values in [0, q), without modulo bias.
///
/// Each value is a 64-bit word masked to bit_width(q - 1) bits and rejected while
/// it is q or more. The masked word is uniform on [0, 2^w) with 2^w < 2q, so fewer
/// than half of the draws are rejected, and the accepted ones are exactly uniform.
/// (Reducing x % q instead would favour the values below 2^64 mod q.)
/// @throws InvalidArgumentError when q < 2.
inline void sample_uniform_mod(Prng& prng, std::uint64_t q, std::span<std::uint64_t> out) {
    if (q < 2) {
        throw InvalidArgumentError(cloak::detail::message(
            "core::sample_uniform_mod: modulus ", q,
            " is below 2; pass a modulus q >= 2 (values are drawn from [0, q))"));
    }
    const int width = bit_count(q - 1);
    const std::uint64_t mask = width == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << width) - 1;
    for (std::uint64_t& value : out) {
        std::uint64_t candidate = 0;
        do {
            candidate = prng.next_u64() & mask;
        } while (candidate >= q);
        value = candidate;
    }
}

/// Uniform on {-1, 0, 1}, each with probability exactly 1/3.
///
/// Each value is one byte of the stream: 255 is rejected (256 is not a multiple
/// of 3), and a byte b in [0, 255) gives b % 3 - 1: 85 accepted bytes map to
/// each value.
inline void sample_ternary(Prng& prng, std::span<std::int64_t> out) {
    for (std::int64_t& value : out) {
        std::uint8_t byte = 0;
        do {
            byte = prng.next_byte();
        } while (byte == 255);
        value = static_cast<std::int64_t>(byte % 3) - 1;
    }
}

namespace detail {

/// Sorts `items` increasingly with Batcher's bitonic network (Batcher 1968):
/// the sequence of compare-exchanges depends only on items.size() (a power of
/// two), and each one is a branch-free min/max, so neither the branches nor the
/// memory addresses depend on the values. n log2(n)^2 / 4 compare-exchanges.
inline void bitonic_sort(std::span<std::uint64_t> items) noexcept {
    const std::size_t n = items.size();
    for (std::size_t k = 2; k <= n; k <<= 1) {
        for (std::size_t j = k >> 1; j > 0; j >>= 1) {
            for (std::size_t i = 0; i < n; ++i) {
                const std::size_t partner = i ^ j;
                if (partner > i) {  // depends on the indices only
                    std::uint64_t& a = items[i];
                    std::uint64_t& b = items[partner];
                    // Ascending where bit k of i is 0, descending where it is 1.
                    const std::uint64_t descending = 0 - static_cast<std::uint64_t>((i & k) != 0);
                    const std::uint64_t swap = (0 - static_cast<std::uint64_t>(a > b)) ^ descending;
                    const std::uint64_t t = (a ^ b) & swap;
                    a ^= t;
                    b ^= t;
                }
            }
        }
    }
}

}  // namespace detail

/// Exactly `hamming_weight` entries in {-1, 1}, each sign with probability 1/2,
/// at a uniformly random set of positions; every other entry is 0.
///
/// Constant-time: the first h of n entries get a random sign and the rest 0,
/// each tagged with a random 62-bit key in its high bits, and the tagged words
/// are sorted by a bitonic network (padded to a power of two with words above
/// every key), which applies a uniformly random permutation. The sequence of
/// operations and memory addresses depends only on n, never on the positions
/// (Floyd's sampler, used before, indexed memory by the secret positions). Two
/// equal keys keep their order: a bias of statistical distance below n^2 / 2^63
/// (2^-31 at n = 2^16). The tagged words are wiped.
/// @throws InvalidArgumentError when hamming_weight > out.size().
inline void sample_sparse_ternary(Prng& prng, std::size_t hamming_weight,
                                  std::span<std::int64_t> out) {
    if (hamming_weight > out.size()) {
        throw InvalidArgumentError(cloak::detail::message(
            "core::sample_sparse_ternary: Hamming weight ", hamming_weight, " exceeds the ",
            out.size(), " coefficients of the output; choose a weight of at most ", out.size()));
    }
    const std::size_t n = out.size();
    // Low two bits: 0 for 0, 1 for +1, 2 for -1; padding words (all ones, code 3)
    // sort after every real word.
    std::vector<std::uint64_t> items(std::bit_ceil(std::max<std::size_t>(n, 1)), ~std::uint64_t{0});
    for (std::size_t j = 0; j < n; ++j) {
        const std::uint64_t word = prng.next_u64();
        const auto nonzero = static_cast<std::uint64_t>(j < hamming_weight);  // public
        const std::uint64_t code = nonzero << (word & 1);                     // 1 or 2, or 0
        items[j] = (word & ~std::uint64_t{3}) | code;
    }
    detail::bitonic_sort(items);
    for (std::size_t j = 0; j < n; ++j) {
        const std::uint64_t code = items[j] & 3;
        out[j] = static_cast<std::int64_t>(code & 1) - static_cast<std::int64_t>(code >> 1);
    }
    sodium_memzero(items.data(), items.size() * sizeof(std::uint64_t));
}

/// The standard deviation of the error distribution, from the
/// HomomorphicEncryption.org standard (SEAL's and Lattigo's default too).
inline constexpr double default_gaussian_sigma = 3.2;

/// Largest sigma sample_gaussian accepts (its table has 6 sigma entries).
inline constexpr double max_gaussian_sigma = 100;

namespace detail {

inline void check_sigma(const char* function, double sigma) {
    if (!(sigma > 0 && sigma <= max_gaussian_sigma)) {  // also rejects NaN
        throw InvalidArgumentError(cloak::detail::message(
            function, ": sigma = ", sigma, " is outside (0, ", max_gaussian_sigma,
            "]; use default_gaussian_sigma (3.2, the HomomorphicEncryption.org standard's "
            "value) or another positive, finite sigma of at most ",
            max_gaussian_sigma));
    }
}

}  // namespace detail

/// The largest |x| the Gaussian sampler returns: ceil(6 sigma). SEAL cuts its
/// error distribution at the same 6 sigma (noise_distribution_width_multiplier);
/// rounding up keeps every integer within 6 sigma. The discrete Gaussian mass
/// beyond the cut is 1.26e-10 ~ 2^-32.9 for sigma = 3.2 (cut at 20), and below
/// erfc(6 / sqrt(2)) ~ 1.97e-9 ~ 2^-28.9 for every sigma in (0, 100] (it
/// approaches that value as sigma grows: 1.91e-9 at sigma = 100).
/// @throws InvalidArgumentError for sigma outside (0, max_gaussian_sigma] or NaN.
[[nodiscard]] inline int gaussian_tail_bound(double sigma) {
    detail::check_sigma("core::gaussian_tail_bound", sigma);
    return static_cast<int>(std::ceil(6 * sigma));
}

/// A discrete Gaussian sampler for one sigma: the centred distribution with
/// weights rho(x) = exp(-x^2 / (2 sigma^2)), cut at gaussian_tail_bound(sigma).
///
/// It uses a cumulative distribution table (CDT) of |x|: P(0) = rho(0) / S and
/// P(k) = 2 rho(k) / S for 1 <= k <= B, S the sum over [-B, B]. Entry k (for
/// k < B) is floor(2^64 P(|x| <= k)). A sample draws one 64-bit word u; |x| is the
/// number of entries at or below u, counted with branch-free comparisons over
/// the whole table, so the time does not depend on the value; a sign bit from one
/// more byte is then applied without a branch. The table is built once; reuse one
/// sampler for many samples.
class GaussianSampler {
  public:
    /// @throws InvalidArgumentError for sigma outside (0, max_gaussian_sigma] or NaN.
    explicit GaussianSampler(double sigma = default_gaussian_sigma) : sigma_(sigma) {
        detail::check_sigma("core::GaussianSampler", sigma);
        const int bound = gaussian_tail_bound(sigma);
        // long double: the cumulative sums need 64 bits of mantissa to fill a word.
        std::vector<long double> weight(static_cast<std::size_t>(bound) + 1);
        long double total = 0;
        for (int k = 0; k <= bound; ++k) {
            const long double rho = std::exp(-static_cast<long double>(k) * k /
                                             (2.0L * static_cast<long double>(sigma) * sigma));
            weight[static_cast<std::size_t>(k)] = k == 0 ? rho : 2 * rho;  // both +k and -k
            total += weight[static_cast<std::size_t>(k)];
        }
        cumulative_.reserve(static_cast<std::size_t>(bound));
        long double running = 0;
        for (int k = 0; k < bound; ++k) {
            running += weight[static_cast<std::size_t>(k)] / total;
            // For a tiny sigma the sum rounds to 1; 2^64 does not fit a word.
            const long double scaled = std::ldexp(running, 64);
            cumulative_.push_back(scaled >= 0x1p64L ? ~std::uint64_t{0}
                                                    : static_cast<std::uint64_t>(scaled));
        }
    }

    [[nodiscard]] double sigma() const noexcept { return sigma_; }

    /// The largest |x| this sampler returns.
    [[nodiscard]] int tail_bound() const noexcept { return static_cast<int>(cumulative_.size()); }

    /// Fills out with independent samples.
    void sample(Prng& prng, std::span<std::int64_t> out) const {
        for (std::int64_t& value : out) {
            const std::uint64_t u = prng.next_u64();
            std::int64_t magnitude = 0;
            for (const std::uint64_t threshold : cumulative_) {
                magnitude += static_cast<std::int64_t>(u >= threshold);
            }
            const auto sign_bit = static_cast<std::int64_t>(prng.next_byte() & 1);
            // sign_bit = 1: (m XOR -1) + 1 = -m; sign_bit = 0: (m XOR 0) + 0 = m.
            value = (magnitude ^ -sign_bit) + sign_bit;
        }
    }

  private:
    double sigma_;
    std::vector<std::uint64_t> cumulative_;
};

/// Discrete Gaussian samples of standard deviation sigma centred at 0, cut at
/// gaussian_tail_bound(sigma), by GaussianSampler's constant-time table. The
/// table for default_gaussian_sigma is built once per process (a function-local
/// static const, initialised thread-safely); any other sigma builds its table on
/// each call (keep a GaussianSampler to sample it repeatedly).
/// @throws InvalidArgumentError for sigma outside (0, max_gaussian_sigma] or NaN.
inline void sample_gaussian(Prng& prng, std::span<std::int64_t> out,
                            double sigma = default_gaussian_sigma) {
    detail::check_sigma("core::sample_gaussian", sigma);
    if (sigma == default_gaussian_sigma) {
        static const GaussianSampler standard(default_gaussian_sigma);
        standard.sample(prng, out);
    } else {
        GaussianSampler(sigma).sample(prng, out);
    }
}

/// Largest sigma sample_wide_gaussian accepts: its samples (at most 8.6 sigma)
/// stay exact integers in a double and fit an int64.
inline constexpr double max_wide_gaussian_sigma = 0x1p52;

/// Gaussian samples of a large standard deviation (the flooding noise of
/// ckks::Decryptor, 2^20 and more), rounded to the nearest integer.
///
/// GaussianSampler's table would need 6 sigma entries; this draws a continuous
/// Gaussian by the Box-Muller transform (Box and Muller 1958) from two 53-bit
/// uniforms u1 in (0, 1] and u2 in [0, 1): sqrt(-2 ln u1) cos(2 pi u2) and its
/// sine partner, scaled by sigma and rounded. For sigma far above the smoothing
/// parameter (a few units) the rounded Gaussian is statistically as close to the
/// discrete Gaussian as double precision resolves. It has no branch on the
/// values, but std::log, std::sqrt, std::cos and std::sin come from the C library
/// and are not promised to take constant time (docs/security.md).
/// @throws InvalidArgumentError for sigma not in (0, max_wide_gaussian_sigma].
inline void sample_wide_gaussian(Prng& prng, double sigma, std::span<std::int64_t> out) {
    if (!(sigma > 0 && sigma <= max_wide_gaussian_sigma)) {  // also rejects NaN
        throw InvalidArgumentError(
            cloak::detail::message("core::sample_wide_gaussian: sigma = ", sigma,
                                   " is outside (0, 2^52]; larger "
                                   "values do not round to exact integers (use a smaller sigma)"));
    }
    constexpr double two_pi = 6.283185307179586476925286766559;
    const auto uniform53 = [&prng] {  // k / 2^53, k uniform in [0, 2^53)
        return static_cast<double>(prng.next_u64() >> 11) * 0x1p-53;
    };
    for (std::size_t i = 0; i < out.size(); i += 2) {
        const double radius = sigma * std::sqrt(-2 * std::log(1 - uniform53()));
        const double angle = two_pi * uniform53();
        out[i] = static_cast<std::int64_t>(std::nearbyint(radius * std::cos(angle)));
        if (i + 1 < out.size()) {
            out[i + 1] = static_cast<std::int64_t>(std::nearbyint(radius * std::sin(angle)));
        }
    }
}

}  // namespace cloak::inline v0::core
