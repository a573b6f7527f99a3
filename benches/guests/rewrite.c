/* Self-modifying code at scale, as a guest that generates code (a JIT, a
 * loader, an interpreter's inline cache) makes it: rewrites one small
 * function REWRITES times and calls it 300 times after each rewrite,
 * summing the results. Built at 10k, 40k and 200k rewrites
 * (rewrite_10k.elf...); natively, the function is computed in C. */
#include <stdint.h>
#include <stdio.h>

#ifndef REWRITES
#define REWRITES 40000
#endif
#define CALLS 300

#ifdef __riscv
/* addi a0, a0, imm ; ret */
static uint32_t code[2] __attribute__((aligned(16)));

static int32_t call(int32_t x) {
    int32_t (*fn)(int32_t) = (int32_t(*)(int32_t))(uintptr_t)code;
    __asm__ volatile("" ::: "memory"); /* the zkVM has no instruction cache */
    return fn(x);
}

static void rewrite(int32_t imm) {
    code[0] = ((uint32_t)(imm & 0xfff) << 20) | (10 << 15) | (10 << 7) | 0x13;
    code[1] = 0x00008067u;
}
#else
static volatile int32_t added;
static int32_t call(int32_t x) { return x + added; }
static void rewrite(int32_t imm) { added = imm; }
#endif

int main(void) {
    uint32_t total = 0;
    for (int32_t r = 0; r < REWRITES; r++) {
        rewrite(r & 0x7ff);
        for (int32_t i = 0; i < CALLS; i++)
            total += (uint32_t)call(i);
    }
    printf("%d rewrites: %lu\n", REWRITES, (unsigned long)total);
    return 0;
}
