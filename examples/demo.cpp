// Consumer check: the umbrella header compiles and links against every
// dependency cloak::cloak carries, and a negacyclic NTT round trip holds.
#include <cloak/cloak.hpp>

#include <cstdio>
#include <vector>

int main() {
    const std::size_t n = 1024;
    const auto primes = cloak::core::generate_ntt_primes(40, 1, 2 * n);
    const cloak::ring::NttTables ntt(n, cloak::core::Modulus(primes[0]));
    std::vector<std::uint64_t> values(n);
    for (std::size_t i = 0; i < n; ++i) {
        values[i] = i * i % primes[0];
    }
    const std::vector<std::uint64_t> original = values;
    ntt.forward(values);
    ntt.inverse(values);
    if (values != original) {
        std::puts("cloak consumer: NTT round trip failed");
        return 1;
    }
    std::printf("cloak consumer: NTT round trip at N = %zu, q = %llu: ok\n", n,
                static_cast<unsigned long long>(primes[0]));
    return 0;
}
