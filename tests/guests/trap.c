/* Raises the user trap named by its first argument. */
#include <stdint.h>
#include <string.h>
#include "zkjit.h"

static uint32_t words[64];

/* Loads (or stores) every word, then at `bad`: a fault from a loop that has
 * run, and on the JIT been translated, before it. */
static uint32_t __attribute__((noinline)) late_access(uintptr_t bad, int store) {
    uint32_t sum = 0;
    for (int i = 0; i <= 64; i++) {
        volatile uintptr_t at = i < 64 ? (uintptr_t)&words[i] : bad;
        if (store)
            *(volatile uint32_t *)at = i;
        else
            sum += *(volatile uint32_t *)at;
    }
    return sum;
}

int main(int argc, char **argv) {
    const char *what = argc > 0 ? argv[0] : "";
    volatile uint32_t word = 0;
    volatile uintptr_t addr;
    if (!strcmp(what, "misaligned-jump")) {
        addr = (uintptr_t)&main + 2;
        ((void (*)(void))addr)();
    } else if (!strcmp(what, "instruction-fault")) {
        addr = 0xc0000000;
        ((void (*)(void))addr)();
    } else if (!strcmp(what, "illegal")) {
        __asm__ volatile(".word 0x00000000");
    } else if (!strcmp(what, "ebreak")) {
        __asm__ volatile("ebreak");
    } else if (!strcmp(what, "misaligned-load")) {
        addr = (uintptr_t)&word + 2;
        word = *(volatile uint32_t *)addr;
    } else if (!strcmp(what, "load-fault")) {
        addr = 0x100;
        word = *(volatile uint32_t *)addr;
    } else if (!strcmp(what, "misaligned-store")) {
        addr = (uintptr_t)&word + 1;
        *(volatile uint16_t *)addr = 1;
    } else if (!strcmp(what, "store-fault")) {
        addr = 0xc0001000;
        *(volatile uint32_t *)addr = 1;
    } else if (!strcmp(what, "late-misaligned-load")) {
        word = late_access((uintptr_t)&words[8] + 2, 0);
    } else if (!strcmp(what, "late-load-fault")) {
        word = late_access(0x100, 0);
    } else if (!strcmp(what, "late-misaligned-store")) {
        word = late_access((uintptr_t)&words[8] + 2, 1);
    } else if (!strcmp(what, "late-store-fault")) {
        word = late_access(0xc0001000, 1);
    } else if (!strcmp(what, "panic")) {
        zkjit_panic("something went wrong", 20);
    } else {
        return 100;
    }
    return 101;
}
