// Misuse that must not compile: a bare integer silently becoming a Modulus (its
// constructor validates and precomputes, so it is explicit).
#include <cloak/core/modarith.hpp>

std::uint64_t reduce_by(std::uint64_t x) {
#ifdef CLOAK_EXPECT_COMPILE_ERROR
    const cloak::core::Modulus q = 97;  // error: explicit constructor
#else
    const cloak::core::Modulus q(97);
#endif
    return q.reduce(x);
}
