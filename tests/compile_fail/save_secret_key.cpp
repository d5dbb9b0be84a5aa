// Misuse that must not compile: writing a secret key through the generic
// io::save, where a program that saves "all its objects" would leak it. Only
// the explicitly named io::save_secret_key writes one.
#include <cloak/io/serialize.hpp>

#include <sstream>

void store(const cloak::ckks::SecretKey& sk, const cloak::ckks::Context& context) {
    std::ostringstream out;
#ifdef CLOAK_EXPECT_COMPILE_ERROR
    cloak::io::save(out, sk, context);  // error: static_assert names save_secret_key
#else
    cloak::io::save_secret_key(out, sk, context);
#endif
}
