// cloak: CKKS plaintexts and ciphertexts, regular value types.
#pragma once

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include <cloak/core/error.hpp>
#include <cloak/core/random.hpp>
#include <cloak/ring/poly.hpp>

namespace cloak::inline v0::ckks {

/// An encoded message: one polynomial over Q_l in evaluation form, with the
/// exact scale it was encoded at and the number of slots it packs.
class Plaintext {
  public:
    Plaintext() = default;
    Plaintext(ring::Poly poly, double scale, std::size_t slots)
        : poly_(std::move(poly)), scale_(scale), slots_(slots) {}

    [[nodiscard]] const ring::Poly& poly() const noexcept { return poly_; }
    [[nodiscard]] ring::Poly& poly() noexcept { return poly_; }
    /// Level l: the polynomial has l + 1 primes.
    [[nodiscard]] std::size_t level() const noexcept { return poly_.limbs() - 1; }
    [[nodiscard]] double scale() const noexcept { return scale_; }
    [[nodiscard]] std::size_t slots() const noexcept { return slots_; }
    [[nodiscard]] bool empty() const noexcept { return poly_.empty(); }

  private:
    ring::Poly poly_;
    double scale_ = 0;
    std::size_t slots_ = 0;
};

/// An encryption: two polynomials (c0, c1) over Q_l in evaluation form, such
/// that c0 + c1 s is the plaintext plus a small error; three right after an
/// unrelinearized multiplication (c0 + c1 s + c2 s^2). The scale is tracked
/// exactly, as a double that changes with each rescale.
class Ciphertext {
  public:
    Ciphertext() = default;
    Ciphertext(std::vector<ring::Poly> parts, double scale, std::size_t slots)
        : parts_(std::move(parts)), scale_(scale), slots_(slots) {}

    /// 2 normally, 3 after multiply_no_relin.
    [[nodiscard]] std::size_t size() const noexcept { return parts_.size(); }
    [[nodiscard]] const ring::Poly& operator[](std::size_t i) const { return parts_.at(i); }
    [[nodiscard]] ring::Poly& operator[](std::size_t i) { return parts_.at(i); }
    [[nodiscard]] std::vector<ring::Poly>& parts() noexcept { return parts_; }
    [[nodiscard]] const std::vector<ring::Poly>& parts() const noexcept { return parts_; }
    /// Level l: each polynomial has l + 1 primes; l rescalings remain.
    [[nodiscard]] std::size_t level() const noexcept {
        return parts_.empty() ? 0 : parts_[0].limbs() - 1;
    }
    [[nodiscard]] double scale() const noexcept { return scale_; }
    void set_scale(double scale) noexcept { scale_ = scale; }
    [[nodiscard]] std::size_t slots() const noexcept { return slots_; }
    [[nodiscard]] bool empty() const noexcept { return parts_.empty(); }

    /// The seed c1 was expanded from (stream 0 of KeyGenerator::uniform_poly over
    /// c1's primes), set by secret-key encryption so that a serialized form can
    /// store 32 bytes instead of c1. Only a hint: operations that change c1 do
    /// not clear it, so a serializer must regenerate c1 from it and compare.
    [[nodiscard]] const std::optional<core::Seed>& public_seed() const noexcept { return seed_; }
    void set_public_seed(std::optional<core::Seed> seed) noexcept { seed_ = seed; }

  private:
    std::vector<ring::Poly> parts_;
    double scale_ = 0;
    std::size_t slots_ = 0;
    std::optional<core::Seed> seed_;
};

}  // namespace cloak::inline v0::ckks
