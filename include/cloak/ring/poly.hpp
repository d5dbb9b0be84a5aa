// cloak: Poly, an element of Z_Q[X]/(X^N + 1) in RNS form.
//
// L limbs (one per prime of the basis) of N words each, in one contiguous
// 64-byte-aligned buffer, limb after limb; tagged coefficient or evaluation
// form (evaluation form is the NTT's bit-reversed order, see ring/ntt.hpp).
// A regular value type: copies copy the coefficients, the basis is shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <vector>

#include <cloak/core/error.hpp>
#include <cloak/core/modarith.hpp>
#include <cloak/core/parallel.hpp>
#include <cloak/ring/basis.hpp>

namespace cloak::inline v0::ring {

enum class Form {
    coefficient,  ///< coefficients of X^0 .. X^(N-1)
    evaluation,   ///< values at the odd powers of psi, bit-reversed (NTT output)
};

/// Name of a form, for messages.
constexpr const char* form_name(Form form) noexcept {
    return form == Form::coefficient ? "coefficient" : "evaluation";
}

namespace detail {

/// Allocator of 64-byte-aligned storage: one cache line, and the width of an
/// AVX-512 register, so vector kernels never split a load.
template <typename T>
struct AlignedAllocator {
    using value_type = T;
    static constexpr std::align_val_t alignment{64};

    AlignedAllocator() noexcept = default;
    template <typename U>
    explicit AlignedAllocator(const AlignedAllocator<U>&) noexcept {}

    [[nodiscard]] T* allocate(std::size_t count) {
        return static_cast<T*>(::operator new(count * sizeof(T), alignment));
    }
    void deallocate(T* pointer, std::size_t) noexcept { ::operator delete(pointer, alignment); }

    template <typename U>
    friend bool operator==(const AlignedAllocator&, const AlignedAllocator<U>&) noexcept {
        return true;
    }
};

}  // namespace detail

class Poly {
  public:
    using Storage = std::vector<std::uint64_t, detail::AlignedAllocator<std::uint64_t>>;

    /// An empty polynomial with no basis (a placeholder to assign to).
    Poly() = default;

    /// The zero polynomial over `basis`, tagged with `form`.
    /// @throws InvalidArgumentError when basis is null.
    Poly(std::shared_ptr<const RnsBasis> basis, Form form) : basis_(std::move(basis)), form_(form) {
        if (!basis_) {
            throw InvalidArgumentError("ring::Poly: the basis is null");
        }
        data_.assign(basis_->size() * basis_->degree(), 0);
    }

    /// The polynomial with small signed coefficients (a secret, an error) in
    /// every limb, in coefficient form; `values` holds N integers.
    /// @throws ShapeError when values.size() != N.
    [[nodiscard]] static Poly from_signed(std::shared_ptr<const RnsBasis> basis,
                                          std::span<const std::int64_t> values) {
        Poly poly(std::move(basis), Form::coefficient);
        const std::size_t n = poly.degree();
        if (values.size() != n) {
            throw ShapeError(cloak::detail::message("ring::Poly::from_signed: ", values.size(),
                                                    " values for degree N = ", n,
                                                    "; pass exactly N"));
        }
        core::parallel_for(poly.limbs(), n, [&](std::size_t i) {
            const core::Modulus& q = poly.basis_->modulus(i);
            std::uint64_t* out = poly.data_.data() + i * n;
            for (std::size_t j = 0; j < n; ++j) {
                const std::int64_t v = values[j];
                // Negate in unsigned arithmetic: -INT64_MIN would overflow.
                const auto bits = static_cast<std::uint64_t>(v);
                const std::uint64_t magnitude = q.reduce(v < 0 ? 0 - bits : bits);
                out[j] = v < 0 ? core::neg_mod(magnitude, q.value()) : magnitude;
            }
        });
        return poly;
    }

    [[nodiscard]] bool empty() const noexcept { return !basis_; }
    [[nodiscard]] std::size_t degree() const noexcept { return basis_ ? basis_->degree() : 0; }
    [[nodiscard]] std::size_t limbs() const noexcept { return basis_ ? basis_->size() : 0; }
    [[nodiscard]] Form form() const noexcept { return form_; }
    [[nodiscard]] const RnsBasis& basis() const { return *basis_; }
    [[nodiscard]] const std::shared_ptr<const RnsBasis>& basis_ptr() const noexcept {
        return basis_;
    }

    [[nodiscard]] std::span<std::uint64_t> data() noexcept { return data_; }
    [[nodiscard]] std::span<const std::uint64_t> data() const noexcept { return data_; }
    [[nodiscard]] std::span<std::uint64_t> limb(std::size_t i) {
        return {data_.data() + i * degree(), degree()};
    }
    [[nodiscard]] std::span<const std::uint64_t> limb(std::size_t i) const {
        return {data_.data() + i * degree(), degree()};
    }

    /// Re-tags the form without touching the data (for kernels that wrote the
    /// other form themselves).
    void set_form(Form form) noexcept { form_ = form; }

    void set_zero() noexcept { std::fill(data_.begin(), data_.end(), 0); }

    /// Forward NTT of every limb (no-op when already in evaluation form).
    void to_evaluation() {
        if (form_ == Form::evaluation) {
            return;
        }
        const std::size_t n = degree();
        core::parallel_for(limbs(), n * 8, [&](std::size_t i) { basis_->ntt(i).forward(limb(i)); });
        form_ = Form::evaluation;
    }

    /// Inverse NTT of every limb (no-op when already in coefficient form).
    void to_coefficient() {
        if (form_ == Form::coefficient) {
            return;
        }
        const std::size_t n = degree();
        core::parallel_for(limbs(), n * 8, [&](std::size_t i) { basis_->ntt(i).inverse(limb(i)); });
        form_ = Form::coefficient;
    }

    /// Keeps the first `basis->size()` limbs; `basis` must be a prefix of the
    /// current basis (a CKKS level drop).
    /// @throws ShapeError when it is not.
    void truncate(std::shared_ptr<const RnsBasis> basis) {
        if (!basis || !basis_ || !basis_->starts_with(*basis)) {
            throw ShapeError(cloak::detail::message(
                "ring::Poly::truncate: the new basis of ", basis ? basis->size() : 0,
                " primes is not a prefix of the current basis of ", limbs(), " primes"));
        }
        data_.resize(basis->size() * degree());
        basis_ = std::move(basis);
    }

    /// Same basis, form and coefficients.
    friend bool operator==(const Poly& a, const Poly& b) noexcept {
        if (a.empty() || b.empty()) {
            return a.empty() == b.empty();
        }
        return a.form_ == b.form_ && *a.basis_ == *b.basis_ && a.data_ == b.data_;
    }

  private:
    std::shared_ptr<const RnsBasis> basis_;
    Form form_ = Form::coefficient;
    Storage data_;
};

}  // namespace cloak::inline v0::ring
