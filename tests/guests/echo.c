/* Copies stdin to the journal and reports the byte count on stdout. */
#include <stdio.h>
#include "zkjit.h"

int main(void) {
    static unsigned char buf[3000];
    size_t total = 0;
    for (;;) {
        /* odd sizes exercise the kernel's chunking and final-word path */
        size_t n = zkjit_read(ZKJIT_STDIN, buf, sizeof(buf) - 1);
        if (n == 0)
            break;
        zkjit_commit(buf, n);
        total += n;
    }
    printf("echoed %u bytes\n", (unsigned)total);
    return 0;
}
