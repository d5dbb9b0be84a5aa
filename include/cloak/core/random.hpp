// cloak: randomness: fresh entropy, seeded streams, and the lattice samplers.
//
// Fresh entropy comes from libsodium's randombytes_buf (the operating system's
// CSPRNG). Public randomness (the uniform "a" halves of keys and secret-key
// encryptions) is expanded from a 32-byte seed by ChaCha20 (libsodium's
// crypto_stream_chacha20_ietf, the seed as key, the stream id as nonce), so a
// serialized object can store the seed instead of the polynomial.
#pragma once

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>

namespace cloak::inline v0::core {

using Seed = std::array<std::uint8_t, 32>;

namespace detail {
inline void ensure_sodium() {
    // sodium_init is thread-safe and idempotent; -1 means no entropy source.
    static const int status = sodium_init();
    if (status < 0) {
        throw RandomnessError(
            "core::random: libsodium could not be initialised (sodium_init returned -1); the "
            "system's entropy source is unavailable");
    }
}
}  // namespace detail

/// 32 bytes of fresh entropy from the operating system.
/// @throws RandomnessError when libsodium cannot be initialised.
[[nodiscard]] inline Seed random_seed() {
    detail::ensure_sodium();
    Seed seed;
    randombytes_buf(seed.data(), seed.size());
    return seed;
}

/// A deterministic cryptographic stream: ChaCha20 keyed by a 32-byte seed, with
/// a 64-bit stream id as nonce for domain separation, read in 4 KiB blocks.
/// Copies continue the same stream independently (both produce the same bytes).
class Prng {
  public:
    explicit Prng(const Seed& seed, std::uint64_t stream_id = 0) : seed_(seed) {
        detail::ensure_sodium();
        nonce_.fill(0);
        std::memcpy(nonce_.data(), &stream_id, sizeof(stream_id));
    }

    /// A stream from fresh entropy.
    [[nodiscard]] static Prng from_entropy() { return Prng(random_seed()); }

    Prng(const Prng&) = default;
    Prng& operator=(const Prng&) = default;
    ~Prng() {
        sodium_memzero(seed_.data(), seed_.size());
        sodium_memzero(buffer_.data(), buffer_.size());
    }

    [[nodiscard]] const Seed& seed() const noexcept { return seed_; }

    void fill(std::span<std::uint8_t> out) {
        std::size_t written = 0;
        while (written < out.size()) {
            if (position_ == buffer_.size()) {
                refill();
            }
            const std::size_t take = std::min(out.size() - written, buffer_.size() - position_);
            std::memcpy(out.data() + written, buffer_.data() + position_, take);
            position_ += take;
            written += take;
        }
    }

    std::uint64_t next_u64() {
        std::uint64_t value = 0;
        if (buffer_.size() - position_ >= sizeof(value)) {
            std::memcpy(&value, buffer_.data() + position_, sizeof(value));
            position_ += sizeof(value);
            return value;
        }
        std::array<std::uint8_t, sizeof(value)> bytes{};
        fill(bytes);
        std::memcpy(&value, bytes.data(), sizeof(value));
        return value;
    }

    std::uint8_t next_byte() {
        if (position_ == buffer_.size()) {
            refill();
        }
        return buffer_[position_++];
    }

  private:
    void refill() {
        // Each 4 KiB block continues the keystream at its 64-byte block counter.
        std::fill(buffer_.begin(), buffer_.end(), 0);
        crypto_stream_chacha20_ietf_xor_ic(buffer_.data(), buffer_.data(), buffer_.size(),
                                           nonce_.data(), counter_, seed_.data());
        counter_ += static_cast<std::uint32_t>(buffer_.size() / 64);
        position_ = 0;
    }

    Seed seed_;
    std::array<std::uint8_t, crypto_stream_chacha20_ietf_NONCEBYTES> nonce_{};
    std::array<std::uint8_t, 4096> buffer_{};
    std::size_t position_ = 4096;  // empty: the first read refills
    std::uint32_t counter_ = 0;
};

/// Uniform values in [0, q), without modulo bias: a 64-bit word is masked to
/// the bit width of q - 1 and rejected when it is q or more (fewer than half of
/// all draws are rejected).
/// @throws InvalidArgumentError for q < 2.
inline void sample_uniform_mod(Prng& prng, std::uint64_t q, std::span<std::uint64_t> out) {
    if (q < 2) {
        throw InvalidArgumentError(
            cloak::detail::message("core::sample_uniform_mod: modulus ", q, " must be at least 2"));
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

/// Uniform on {-1, 0, 1}: a byte in [0, 255) taken mod 3 (255 is rejected, so
/// each value has probability exactly 1/3).
inline void sample_ternary(Prng& prng, std::span<std::int64_t> out) {
    for (std::int64_t& value : out) {
        std::uint8_t byte = 0;
        do {
            byte = prng.next_byte();
        } while (byte == 255);
        value = static_cast<std::int64_t>(byte % 3) - 1;
    }
}

/// An unbiased integer in [0, bound) by rejection (Lemire-style threshold).
inline std::uint64_t uniform_below(Prng& prng, std::uint64_t bound) {
    const std::uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
    std::uint64_t x = 0;
    do {
        x = prng.next_u64();
    } while (x < threshold);
    return x % bound;
}

/// Exactly `hamming_weight` entries in {-1, 1} (each sign with probability 1/2)
/// at uniformly random positions, the rest 0: a partial Fisher-Yates shuffle.
/// @throws InvalidArgumentError when hamming_weight > out.size().
inline void sample_sparse_ternary(Prng& prng, std::size_t hamming_weight,
                                  std::span<std::int64_t> out) {
    if (hamming_weight > out.size()) {
        throw InvalidArgumentError(cloak::detail::message(
            "core::sample_sparse_ternary: Hamming weight ", hamming_weight, " exceeds the ",
            out.size(), " coefficients; choose a weight of at most N"));
    }
    std::vector<std::uint32_t> positions(out.size());
    for (std::size_t i = 0; i < positions.size(); ++i) {
        positions[i] = static_cast<std::uint32_t>(i);
    }
    std::fill(out.begin(), out.end(), 0);
    for (std::size_t i = 0; i < hamming_weight; ++i) {
        const std::size_t j = i + uniform_below(prng, out.size() - i);
        std::swap(positions[i], positions[j]);
        out[positions[i]] = (prng.next_byte() & 1) != 0 ? 1 : -1;
    }
}

inline constexpr double default_gaussian_sigma = 3.2;

/// The largest |x| the Gaussian sampler returns: ceil(6 sigma), as SEAL and the
/// HomomorphicEncryption.org standard cut the tail (the mass beyond is below 2^-28).
inline int gaussian_tail_bound(double sigma) {
    return static_cast<int>(std::ceil(6 * sigma));
}

namespace detail {

/// Cumulative table of the folded discrete Gaussian: entry k is
/// floor(2^64 * P(|x| <= k)) for k below the tail bound.
struct GaussianTable {
    double sigma;
    std::vector<std::uint64_t> cumulative;

    explicit GaussianTable(double s) : sigma(s) {
        const int bound = gaussian_tail_bound(s);
        std::vector<long double> weight(static_cast<std::size_t>(bound) + 1);
        long double total = 0;
        for (int k = 0; k <= bound; ++k) {
            const long double rho = std::exp(-static_cast<long double>(k) * k / (2.0L * s * s));
            weight[static_cast<std::size_t>(k)] = k == 0 ? rho : 2 * rho;  // +k and -k
            total += weight[static_cast<std::size_t>(k)];
        }
        long double running = 0;
        for (int k = 0; k < bound; ++k) {
            running += weight[static_cast<std::size_t>(k)] / total;
            cumulative.push_back(static_cast<std::uint64_t>(std::ldexp(running, 64)));
        }
    }
};

inline void check_sigma(double sigma) {
    if (!(sigma > 0 && sigma <= 100)) {
        throw InvalidArgumentError(cloak::detail::message("core::sample_gaussian: sigma = ", sigma,
                                                          " is outside (0, 100]"));
    }
}

}  // namespace detail

/// Discrete Gaussian of standard deviation sigma centred at 0, cut at
/// gaussian_tail_bound(sigma), by a constant-time cumulative table: each sample
/// draws one 64-bit word u, |x| is the number of table entries at or below u,
/// counted with branch-free comparisons over the whole table, and the sign comes
/// from one more random bit applied without a branch.
/// @throws InvalidArgumentError for sigma outside (0, 100].
inline void sample_gaussian(Prng& prng, std::span<std::int64_t> out,
                            double sigma = default_gaussian_sigma) {
    detail::check_sigma(sigma);
    static const detail::GaussianTable default_table(default_gaussian_sigma);
    std::optional<detail::GaussianTable> custom;
    if (sigma != default_gaussian_sigma) {
        custom.emplace(sigma);
    }
    const detail::GaussianTable& table = custom ? *custom : default_table;
    for (std::int64_t& value : out) {
        const std::uint64_t u = prng.next_u64();
        std::int64_t magnitude = 0;
        for (std::uint64_t threshold : table.cumulative) {
            magnitude += static_cast<std::int64_t>(u >= threshold);
        }
        const auto sign_bit = static_cast<std::int64_t>(prng.next_byte() & 1);
        // sign_bit = 1 negates: (m XOR -1) + 1 = -m; sign_bit = 0 leaves m.
        value = (magnitude ^ -sign_bit) + sign_bit;
    }
}

}  // namespace cloak::inline v0::core
