/* Benchmark: sieve of Eratosthenes up to 1 000 000, 8 times. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define LIMIT 1000000
static uint8_t composite[LIMIT + 1];

int main(void) {
    uint32_t count = 0;
    for (int round = 0; round < 8; round++) {
        memset(composite, 0, sizeof(composite));
        count = 0;
        for (uint32_t i = 2; i <= LIMIT; i++) {
            if (composite[i])
                continue;
            count++;
            for (uint32_t j = i * 2; j <= LIMIT; j += i)
                composite[j] = 1;
        }
    }
    printf("sieve %lu\n", (unsigned long)count);
    return count == 78498 ? 0 : 1;
}
