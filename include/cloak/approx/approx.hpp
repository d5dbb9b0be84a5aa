// cloak: polynomial approximation (plaintext math, no key material): Chebyshev
// interpolation, Remez minimax in NTL's RR, weighted least squares, and the
// activation presets of encrypted machine learning. See docs/approximation.md.
#pragma once

#include <cloak/approx/chebyshev.hpp>
#include <cloak/approx/least_squares.hpp>
#include <cloak/approx/presets.hpp>
#include <cloak/approx/remez.hpp>
