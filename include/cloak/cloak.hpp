// cloak: the umbrella header. It includes the public API only.
#pragma once

#include <cloak/ckks/ciphertext.hpp>
#include <cloak/ckks/context.hpp>
#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/encryptor.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/key_switch.hpp>
#include <cloak/ckks/keys.hpp>
#include <cloak/ckks/parameters.hpp>
#include <cloak/ckks/polynomial.hpp>
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
#include <cloak/rlwe/security.hpp>
