// Tests of core/modarith.hpp and core/primes.hpp against GMP.
#include <gmpxx.h>
#include <catch2/catch.hpp>

#include <cloak/core/modarith.hpp>
#include <cloak/core/primes.hpp>

TEST_CASE("core/modarith/placeholder") {
    REQUIRE(cloak::core::inverse_mod(3, 7) == 5);
}
