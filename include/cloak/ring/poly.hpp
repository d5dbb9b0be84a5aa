// cloak: Poly, an element of Z_Q[X]/(X^N + 1) in RNS form.
//
// L limbs (one per prime of the basis) of N words each, in one contiguous
// 64-byte-aligned buffer, limb after limb, every word fully reduced in [0, q_i).
// Tagged coefficient or evaluation form; evaluation form is the NTT's
// bit-reversed order, slot j of limb i holding a(psi_i^(2 reverse_bits(j) + 1))
// (ring/ntt.hpp). A regular value type: copies copy the coefficients and share
// the immutable basis.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <cloak/core/error.hpp>
#include <cloak/core/modarith.hpp>
#include <cloak/core/parallel.hpp>
#include <cloak/ring/basis.hpp>

namespace cloak::inline v0::ring {

enum class Form : std::uint8_t {
    coefficient,  ///< coefficients of X^0 .. X^(N-1)
    evaluation,   ///< values at the odd powers of psi, bit-reversed (NTT output)
};

/// Name of a form, for messages.
constexpr std::string_view form_name(Form form) noexcept {
    return form == Form::coefficient ? "coefficient" : "evaluation";
}

namespace detail {

inline constexpr std::align_val_t buffer_alignment{64};

/// Buffers of at least this size go through the per-thread buffer cache.
inline constexpr std::size_t cached_buffer_min_bytes = std::size_t{64} << 10;

/// Bytes each thread may keep cached: CLOAK_BUFFER_CACHE_MB (default 1024, 0
/// disables the cache), read once. Sanitizer builds never cache, so that a
/// use after free still reaches the sanitizer.
inline std::size_t buffer_cache_limit() noexcept {
#if defined(__SANITIZE_ADDRESS__)
    return 0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
    return 0;
#endif
#endif
    static const std::size_t limit = [] {
        const char* text = std::getenv("CLOAK_BUFFER_CACHE_MB");
        if (text == nullptr || *text == '\0')
            return std::size_t{1024} << 20;
        char* end = nullptr;
        const unsigned long long megabytes = std::strtoull(text, &end, 10);
        return *end == '\0' ? static_cast<std::size_t>(megabytes) << 20 : std::size_t{1024} << 20;
    }();
    return limit;
}

/// Large polynomial buffers freed by this thread, kept for the next allocation of
/// the same size. Homomorphic operations allocate and free buffers of a few
/// sizes (N words per limb) over and over; returning them to the system and
/// faulting fresh pages back in cost 20 to 25 percent of a key switch at
/// N = 2^14. Per thread, so no lock; bounded by buffer_cache_limit().
class BufferCache {
  public:
    BufferCache() = default;
    BufferCache(const BufferCache&) = delete;
    BufferCache& operator=(const BufferCache&) = delete;
    ~BufferCache() {
        for (const Block& block : blocks_)
            ::operator delete(block.pointer, buffer_alignment);
        state() = destroyed;
    }

    /// A cached block of exactly `bytes`, or nullptr.
    void* take(std::size_t bytes) noexcept {
        for (std::size_t i = blocks_.size(); i-- > 0;) {
            if (blocks_[i].bytes == bytes) {
                void* pointer = blocks_[i].pointer;
                blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(i));
                cached_ -= bytes;
                return pointer;
            }
        }
        return nullptr;
    }

    /// Keeps the block (evicting the oldest ones to stay in the limit); false
    /// when it does not fit at all and the caller must free it.
    bool give(void* pointer, std::size_t bytes) noexcept {
        const std::size_t limit = buffer_cache_limit();
        if (bytes > limit)
            return false;
        while (cached_ + bytes > limit) {
            ::operator delete(blocks_.front().pointer, buffer_alignment);
            cached_ -= blocks_.front().bytes;
            blocks_.erase(blocks_.begin());
        }
        try {
            blocks_.push_back({pointer, bytes});
        } catch (...) {
            return false;
        }
        cached_ += bytes;
        return true;
    }

    /// This thread's cache, or nullptr once it is destroyed (thread exit: Polys in
    /// static storage may be freed after it).
    static BufferCache* current() noexcept {
        if (state() == destroyed)
            return nullptr;
        thread_local BufferCache cache;
        return &cache;
    }

  private:
    struct Block {
        void* pointer;
        std::size_t bytes;
    };
    static constexpr unsigned char destroyed = 1;
    // Trivially destructible, so still readable after the cache is gone.
    static unsigned char& state() noexcept {
        thread_local unsigned char value = 0;
        return value;
    }

    std::vector<Block> blocks_;
    std::size_t cached_ = 0;
};

/// Allocator of 64-byte-aligned storage: one cache line, and the width of an
/// AVX-512 register, so vector kernels never split a load. Elements are left
/// uninitialized by resize() (default-initialization): kernels that write every
/// word of their output do not pay for zeroing it first.
template <typename T>
struct AlignedAllocator {
    using value_type = T;
    static constexpr std::align_val_t alignment = buffer_alignment;

    AlignedAllocator() noexcept = default;
    template <typename U>
    explicit AlignedAllocator(const AlignedAllocator<U>&) noexcept {}

    [[nodiscard]] T* allocate(std::size_t count) {
        const std::size_t bytes = count * sizeof(T);
        if (bytes >= cached_buffer_min_bytes && buffer_cache_limit() > 0) {
            if (BufferCache* cache = BufferCache::current()) {
                if (void* pointer = cache->take(bytes))
                    return static_cast<T*>(pointer);
            }
        }
        return static_cast<T*>(::operator new(bytes, alignment));
    }
    void deallocate(T* pointer, std::size_t count) noexcept {
        const std::size_t bytes = count * sizeof(T);
        if (bytes >= cached_buffer_min_bytes && buffer_cache_limit() > 0) {
            if (BufferCache* cache = BufferCache::current()) {
                if (cache->give(pointer, bytes))
                    return;
            }
        }
        ::operator delete(pointer, alignment);
    }

    /// Default-initialization for resize(n); value construction otherwise.
    template <typename U>
    void construct(U* pointer) noexcept {
        ::new (static_cast<void*>(pointer)) U;
    }
    template <typename U, typename... Args>
    void construct(U* pointer, Args&&... args) {
        ::new (static_cast<void*>(pointer)) U(std::forward<Args>(args)...);
    }

    template <typename U>
    friend bool operator==(const AlignedAllocator&, const AlignedAllocator<U>&) noexcept {
        return true;
    }
};

/// Scratch words for a kernel: aligned, uninitialized, freed at scope exit.
using ScratchBuffer = std::vector<std::uint64_t, AlignedAllocator<std::uint64_t>>;

/// `value` mod q for a signed value, in [0, q).
inline std::uint64_t reduce_signed(std::int64_t value, const core::Modulus& q) noexcept {
    // Negate in unsigned arithmetic: -INT64_MIN would overflow.
    const auto bits = static_cast<std::uint64_t>(value);
    const std::uint64_t magnitude = q.reduce(value < 0 ? 0 - bits : bits);
    return value < 0 ? core::neg_mod(magnitude, q.value()) : magnitude;
}

// out[j] = values[j] mod q; arguments by value so that stores cannot alias them.
inline void reduce_signed_limb(const std::int64_t* values, std::uint64_t* out, std::size_t n,
                               const core::Modulus q) noexcept {
    for (std::size_t j = 0; j < n; ++j) {
        out[j] = reduce_signed(values[j], q);
    }
}

}  // namespace detail

class Poly {
  public:
    using Storage = std::vector<std::uint64_t, detail::AlignedAllocator<std::uint64_t>>;

    /// An empty polynomial with no basis (a placeholder to assign to).
    Poly() = default;

    /// The zero polynomial over `basis`, tagged with `form`.
    /// @throws InvalidArgumentError when basis is null.
    Poly(std::shared_ptr<const RnsBasis> basis, Form form)
        : Poly(std::move(basis), form, Uninitialized{}) {
        std::fill(data_.begin(), data_.end(), std::uint64_t{0});
    }

    /// The polynomial with the given residues, limb after limb:
    /// residues[i * N + j] is word j of limb i, in [0, q_i). This is the RNS
    /// representation itself, the form in which a polynomial leaves and enters
    /// the library without big integers.
    /// @throws InvalidArgumentError when basis is null or a residue is not below
    ///         its modulus (the message names it, its limb and its index).
    /// @throws ShapeError when residues does not hold L * N words.
    Poly(std::shared_ptr<const RnsBasis> basis, Form form, std::span<const std::uint64_t> residues)
        : Poly(std::move(basis), form, Uninitialized{}) {
        const std::size_t n = degree();
        if (residues.size() != data_.size()) {
            throw ShapeError(cloak::detail::message(
                "ring::Poly: ", residues.size(), " residues for ", limbs(), " limbs of N = ", n,
                "; pass limbs * N = ", data_.size(), " words, limb after limb"));
        }
        for (std::size_t i = 0; i < limbs(); ++i) {
            const std::uint64_t q = basis_->modulus(i).value();
            for (std::size_t j = 0; j < n; ++j) {
                if (residues[i * n + j] >= q) {
                    throw InvalidArgumentError(cloak::detail::message(
                        "ring::Poly: residue ", residues[i * n + j], " at limb ", i, ", index ", j,
                        " is not below its modulus ", q, "; reduce it first"));
                }
            }
        }
        std::copy(residues.begin(), residues.end(), data_.begin());
    }

    /// The polynomial with small signed coefficients (a ternary secret, a
    /// Gaussian error, an integer message) reduced into every limb; `values`
    /// holds N integers of any 64-bit magnitude. Returned in `form`
    /// (evaluation form runs the NTT of every limb).
    /// @throws InvalidArgumentError when basis is null.
    /// @throws ShapeError when values.size() != N.
    [[nodiscard]] static Poly from_signed(std::shared_ptr<const RnsBasis> basis,
                                          std::span<const std::int64_t> values,
                                          Form form = Form::coefficient) {
        Poly poly(std::move(basis), Form::coefficient, Uninitialized{});
        const std::size_t n = poly.degree();
        if (values.size() != n) {
            throw ShapeError(cloak::detail::message("ring::Poly::from_signed: ", values.size(),
                                                    " values for degree N = ", n,
                                                    "; pass exactly N integers"));
        }
        std::uint64_t* words = poly.data_.data();
        const RnsBasis& b = *poly.basis_;
        core::parallel_for(poly.limbs(), n, [words, &b, values, n](std::size_t i) {
            detail::reduce_signed_limb(values.data(), words + i * n, n, b.modulus(i));
        });
        if (form == Form::evaluation) {
            poly.to_evaluation();
        }
        return poly;
    }

    [[nodiscard]] bool empty() const noexcept { return !basis_; }
    [[nodiscard]] std::size_t degree() const noexcept { return basis_ ? basis_->degree() : 0; }
    /// Number of limbs L (primes of the basis).
    [[nodiscard]] std::size_t limbs() const noexcept { return basis_ ? basis_->size() : 0; }
    [[nodiscard]] Form form() const noexcept { return form_; }
    /// The basis (the Poly must not be empty).
    [[nodiscard]] const RnsBasis& basis() const noexcept { return *basis_; }
    /// The shared basis (null for an empty Poly): compare it by pointer to find
    /// the level a polynomial is at, since prefixes of one basis are unique objects.
    [[nodiscard]] const std::shared_ptr<const RnsBasis>& basis_ptr() const noexcept {
        return basis_;
    }
    /// The modulus of limb i.
    [[nodiscard]] const core::Modulus& modulus(std::size_t i) const noexcept {
        return basis_->modulus(i);
    }

    /// All L * N words, limb after limb.
    [[nodiscard]] std::span<std::uint64_t> data() noexcept { return data_; }
    [[nodiscard]] std::span<const std::uint64_t> data() const noexcept { return data_; }
    /// The N words of limb i (i < limbs()).
    [[nodiscard]] std::span<std::uint64_t> limb(std::size_t i) noexcept {
        return {data_.data() + i * degree(), degree()};
    }
    [[nodiscard]] std::span<const std::uint64_t> limb(std::size_t i) const noexcept {
        return {data_.data() + i * degree(), degree()};
    }

    /// Re-tags the form without touching the words, for code that wrote the
    /// other form into data() itself.
    void set_form(Form form) noexcept { form_ = form; }

    /// Every word to zero (the zero polynomial in both forms).
    void set_zero() noexcept { std::fill(data_.begin(), data_.end(), std::uint64_t{0}); }

    /// Makes this a polynomial over `basis` in `form`, reusing the buffer when it
    /// is large enough. The words are unspecified until written: this is for
    /// output arguments that a kernel overwrites completely.
    /// @throws InvalidArgumentError when basis is null.
    void reshape(std::shared_ptr<const RnsBasis> basis, Form form) {
        if (!basis) {
            throw InvalidArgumentError("ring::Poly::reshape: the basis is null");
        }
        data_.resize(basis->size() * basis->degree());
        basis_ = std::move(basis);
        form_ = form;
    }

    /// Forward NTT of every limb (nothing when already in evaluation form).
    void to_evaluation() {
        if (form_ == Form::evaluation || empty()) {
            form_ = Form::evaluation;
            return;
        }
        const std::size_t n = degree();
        core::parallel_for(limbs(), n * static_cast<std::size_t>(basis_->log_degree()),
                           [&](std::size_t i) { basis_->ntt(i).forward(limb(i)); });
        form_ = Form::evaluation;
    }

    /// Inverse NTT of every limb (nothing when already in coefficient form).
    void to_coefficient() {
        if (form_ == Form::coefficient || empty()) {
            form_ = Form::coefficient;
            return;
        }
        const std::size_t n = degree();
        core::parallel_for(limbs(), n * static_cast<std::size_t>(basis_->log_degree()),
                           [&](std::size_t i) { basis_->ntt(i).inverse(limb(i)); });
        form_ = Form::coefficient;
    }

    /// Keeps the first `count` limbs (a CKKS level drop: the value mod the
    /// smaller Q). The basis becomes basis()->prefix(count).
    /// @throws InvalidArgumentError when count is 0 or above limbs().
    void keep_first_limbs(std::size_t count) {
        if (count == 0 || count > limbs()) {
            throw InvalidArgumentError(
                cloak::detail::message("ring::Poly::keep_first_limbs: cannot keep ", count, " of ",
                                       limbs(), " limbs; keep between 1 and ", limbs()));
        }
        basis_ = basis_->prefix(count);
        data_.resize(count * degree());
    }

    /// Keeps the first `basis->size()` limbs, taking `basis` as the new basis; it
    /// must be a prefix of the current one (a CKKS level drop to a basis the
    /// caller holds).
    /// @throws ShapeError when it is not a non-empty prefix.
    void truncate(std::shared_ptr<const RnsBasis> basis) {
        if (!basis || !basis_ || !basis_->starts_with(*basis)) {
            throw ShapeError(cloak::detail::message(
                "ring::Poly::truncate: the new basis of ", basis ? basis->size() : 0,
                " primes is not a prefix of the current basis of ", limbs(),
                " primes; pass basis_ptr()->prefix(count)"));
        }
        data_.resize(basis->size() * degree());
        basis_ = std::move(basis);
    }

    /// Drops the last `count` limbs; at least one limb must remain.
    /// @throws InvalidArgumentError when count >= limbs().
    void drop_last_limbs(std::size_t count) {
        if (count >= limbs()) {
            throw InvalidArgumentError(
                cloak::detail::message("ring::Poly::drop_last_limbs: cannot drop ", count, " of ",
                                       limbs(), " limbs; at least one must remain"));
        }
        keep_first_limbs(limbs() - count);
    }

    /// Same basis, form and words.
    friend bool operator==(const Poly& a, const Poly& b) noexcept {
        if (a.empty() || b.empty()) {
            return a.empty() == b.empty();
        }
        return a.form_ == b.form_ && *a.basis_ == *b.basis_ && a.data_ == b.data_;
    }

  private:
    struct Uninitialized {};

    // Storage for `basis` with uninitialized words, for constructors that write them all.
    Poly(std::shared_ptr<const RnsBasis> basis, Form form, Uninitialized)
        : basis_(std::move(basis)), form_(form) {
        if (!basis_) {
            throw InvalidArgumentError("ring::Poly: the basis is null; pass a RnsBasis");
        }
        data_.resize(basis_->size() * basis_->degree());
    }

    std::shared_ptr<const RnsBasis> basis_;
    Form form_ = Form::coefficient;
    Storage data_;
};

}  // namespace cloak::inline v0::ring
