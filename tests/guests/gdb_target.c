/* For the gdb test (tests/gdb.rs): a hot loop that calls `hot` 20 000
 * times (the JIT translates it), then `marker`, then the loop again.
 * `marker` and what follows start a code page of their own, so that gdb's
 * breakpoint there leaves the translations of `hot`'s page alone. */
#include <stdio.h>

volatile unsigned counter;

__attribute__((noinline)) unsigned hot(unsigned x) {
    counter += 1;
    return x * 3 + 1;
}

__attribute__((noinline, aligned(4096))) void marker(void) {
    counter += 1000000;
}

static unsigned loop(unsigned n) {
    unsigned sum = 0;
    for (unsigned i = 0; i < n; i++)
        sum += hot(i);
    return sum;
}

int main(void) {
    unsigned sum = loop(20000);
    marker();
    sum += loop(20000);
    printf("sum %u counter %u\n", sum, counter);
    return 7;
}
