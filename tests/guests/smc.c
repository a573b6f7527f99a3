/* Self-modifying code: writes a small function into a buffer, calls it
 * often enough for the JIT to translate it, rewrites it, and calls again.
 * The results must follow the newest instructions. Then stores beside the
 * translated function (same 1 KiB page), often enough for the storing loop
 * to be translated too. */
#include <stdint.h>
#include <stdio.h>

/* addi a0, a0, imm ; ret */
static uint32_t addi_a0(int32_t imm) { return ((uint32_t)(imm & 0xfff) << 20) | (10 << 15) | (10 << 7) | 0x13; }
#define RET 0x00008067u

/* The function, and data beside it (16 bytes, so one 1 KiB page). */
static struct {
    uint32_t code[2];
    volatile uint32_t data[2];
} area __attribute__((aligned(16)));
#define code area.code

static int32_t call(int32_t x) {
    int32_t (*fn)(int32_t) = (int32_t(*)(int32_t))(uintptr_t)code;
    __asm__ volatile("" ::: "memory"); /* the zkVM has no instruction cache to flush */
    return fn(x);
}

int main(void) {
    int32_t total = 0;
    for (int round = 1; round <= 5; round++) {
        code[0] = addi_a0(round * 10);
        code[1] = RET;
        for (int i = 0; i < 200; i++)
            total += call(i);
    }
    /* sum over rounds r of sum_i (i + 10 r) = 5 * 19900 + 200 * 10 * 15 */
    printf("total=%ld\n", (long)total);
    code[0] = addi_a0(1);
    code[1] = RET;
    int32_t beside = 0;
    for (int i = 0; i < 1000; i++) {
        area.data[0] = i;
        area.data[1] = i + 1;
        beside += call(area.data[0] + area.data[1]);
    }
    /* sum_i (2 i + 2) = 2 * 499500 + 2000 */
    printf("beside=%ld\n", (long)beside);
    return total == 5 * 19900 + 200 * 150 && beside == 1001000 ? 0 : 1;
}
