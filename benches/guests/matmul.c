/* Benchmark: integer matrix multiply, 200 x 200, 3 times. */
#include <stdint.h>
#include <stdio.h>

#define N 200
static int32_t a[N][N], b[N][N], c[N][N];

int main(void) {
    uint32_t seed = 1;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            seed = seed * 1103515245u + 12345u;
            a[i][j] = (int32_t)(seed >> 16) % 100 - 50;
            seed = seed * 1103515245u + 12345u;
            b[i][j] = (int32_t)(seed >> 16) % 100 - 50;
        }
    int32_t check = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                int32_t sum = 0;
                for (int k = 0; k < N; k++)
                    sum += a[i][k] * b[k][j];
                c[i][j] = sum;
            }
        check += c[round][N - 1 - round];
        a[round][round] += 1;
    }
    printf("matmul %ld\n", (long)check);
    return 0;
}
