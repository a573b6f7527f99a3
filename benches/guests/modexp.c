/* Benchmark: 64-bit modular exponentiation (square-and-multiply, with a
 * shift-and-add modular multiplication that needs no 128-bit type). */
#include <stdint.h>
#include <stdio.h>

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m) {
    uint64_t r = 0;
    a %= m;
    while (b) {
        if (b & 1) {
            r += a;
            if (r >= m) r -= m;
        }
        a <<= 1;
        if (a >= m) a -= m;
        b >>= 1;
    }
    return r;
}

static uint64_t powmod(uint64_t base, uint64_t exp, uint64_t m) {
    uint64_t r = 1;
    base %= m;
    while (exp) {
        if (exp & 1) r = mulmod(r, base, m);
        base = mulmod(base, base, m);
        exp >>= 1;
    }
    return r;
}

int main(void) {
    const uint64_t m = 0x1fffffffffffffffull; /* 2^61 - 1, prime */
    uint64_t acc = 0;
    for (uint64_t base = 2; base < 202; base++)
        acc ^= powmod(base, m - 2, m);
    printf("modexp %08lx%08lx\n", (unsigned long)(uint32_t)(acc >> 32), (unsigned long)(uint32_t)acc);
    return 0;
}
