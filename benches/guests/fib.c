/* Benchmark: naive recursive Fibonacci. */
#include <stdint.h>
#include <stdio.h>

static uint32_t fib(uint32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(void) {
    volatile uint32_t n = 32;
    uint32_t f = fib(n);
    printf("fib %lu\n", (unsigned long)f);
    return f == 2178309 ? 0 : 1;
}
