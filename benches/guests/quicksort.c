/* Benchmark: quicksort of 600 000 pseudo-random integers. */
#include <stdint.h>
#include <stdio.h>

#define N 600000
static int32_t v[N];

static void quicksort(int32_t *x, int lo, int hi) {
    while (lo < hi) {
        int32_t pivot = x[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (x[i] < pivot) i++;
            while (x[j] > pivot) j--;
            if (i <= j) {
                int32_t t = x[i]; x[i] = x[j]; x[j] = t;
                i++; j--;
            }
        }
        if (j - lo < hi - i) {
            quicksort(x, lo, j);
            lo = i;
        } else {
            quicksort(x, i, hi);
            hi = j;
        }
    }
}

int main(void) {
    uint32_t seed = 42;
    for (int i = 0; i < N; i++) {
        seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5;
        v[i] = (int32_t)seed;
    }
    quicksort(v, 0, N - 1);
    for (int i = 1; i < N; i++)
        if (v[i - 1] > v[i])
            return 1;
    printf("quicksort %ld %ld\n", (long)v[0], (long)v[N / 2]);
    return 0;
}
