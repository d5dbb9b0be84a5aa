// cloak: the umbrella header. It includes the public API only.
#pragma once

#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/modarith.hpp>
#include <cloak/core/parallel.hpp>
#include <cloak/core/primes.hpp>
#include <cloak/core/random.hpp>
#include <cloak/ring/arith.hpp>
#include <cloak/ring/automorphism.hpp>
#include <cloak/ring/backend.hpp>
#include <cloak/ring/base_conversion.hpp>
#include <cloak/ring/basis.hpp>
#include <cloak/ring/crt.hpp>
#include <cloak/ring/ntt.hpp>
#include <cloak/ring/poly.hpp>
#include <cloak/ring/special_fft.hpp>
