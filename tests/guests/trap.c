/* Raises the user trap named by its first argument. */
#include <stdint.h>
#include <string.h>
#include "zkjit.h"

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
    } else if (!strcmp(what, "panic")) {
        zkjit_panic("something went wrong", 20);
    } else {
        return 100;
    }
    return 101;
}
