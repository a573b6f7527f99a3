/* Host randomness (SYS_RANDOM): prints 16 random words and commits 64 to
 * the journal. The same --seed gives the same words. */
#include <stdio.h>
#include "zkjit.h"

int main(void) {
    static uint32_t words[64];
    zkjit_random(words, 64);
    for (int i = 0; i < 16; i++)
        printf("%08lx%s", (unsigned long)words[i], i % 8 == 7 ? "\n" : " ");
    zkjit_commit(words, sizeof(words));
    return 0;
}
