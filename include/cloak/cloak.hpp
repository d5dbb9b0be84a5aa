// cloak: the umbrella header. It includes the public API only.
#pragma once

#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/modarith.hpp>
#include <cloak/core/primes.hpp>
#include <cloak/ring/ntt.hpp>
