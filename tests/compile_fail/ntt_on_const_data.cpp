// Misuse that must not compile: an in-place NTT of read-only data. Built once
// without CLOAK_EXPECT_COMPILE_ERROR (it must compile, so the check cannot pass
// for an unrelated reason) and once with it (the build must fail).
#include <cloak/ring/ntt.hpp>

#include <vector>

void transform(const cloak::ring::NttTables& ntt, const std::vector<std::uint64_t>& input) {
#ifdef CLOAK_EXPECT_COMPILE_ERROR
    ntt.forward(input);  // error: std::span<std::uint64_t> cannot view const data
#else
    std::vector<std::uint64_t> copy = input;
    ntt.forward(copy);
#endif
}
