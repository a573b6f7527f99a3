/* Deep recursion: a 100 000-frame chain and a small Ackermann function. */
#include <stdio.h>

static unsigned depth(unsigned n) {
    volatile unsigned char frame[16];
    frame[0] = (unsigned char)n;
    if (n == 0)
        return 0;
    return depth(n - 1) + frame[0] % 2;
}

static unsigned ackermann(unsigned m, unsigned n) {
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

int main(void) {
    unsigned d = depth(100000);
    unsigned a = ackermann(2, 300);
    printf("depth=%u ackermann=%u\n", d, a);
    return d == 50000 && a == 603 ? 0 : 1;
}
