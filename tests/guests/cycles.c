/* Reads the cycle counter around a loop and reports both readings. */
#include <stdio.h>
#include "zkjit.h"

int main(void) {
    uint64_t before = zkjit_cycle_count();
    volatile unsigned x = 0;
    for (unsigned i = 0; i < 1000; i++)
        x += i;
    uint64_t after = zkjit_cycle_count();
    printf("before=%llu after=%llu x=%u\n", (unsigned long long)before,
           (unsigned long long)after, x);
    zkjit_log("cycles done", 11);
    return 0;
}
