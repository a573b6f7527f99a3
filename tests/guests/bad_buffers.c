/* Software syscalls with buffers a guest must not be allowed: argv[0]
 * names the syscall, argv[1] the buffer: "kernel" (0xc0001000, kernel
 * memory), "cross" (user memory running 8 bytes past 0xc0000000), "wrap"
 * (0xfffffff0 + 64 bytes, wrapping around), "null" (address 0) or "huge"
 * (a user address with a length of 3 GiB, running far into the kernel). Each run
 * must stop with a fault before the host touches the buffer. */
#include <stdio.h>
#include <string.h>
#include "zkjit.h"

#define PREFIX "risc0_zkvm_platform::syscall::nr::"

static uint32_t user_buffer[64];
/* A modulus for the BIGINT2 cases (the arguments are 256-bit numbers). */
static uint32_t modulus[8] = {7};
ZKJIT_BIGINT2_BLOB(modadd_256_blob, "bibc/modadd_256.blob");

/* The SHA user ecall: `count` blocks from `data` (contiguous halves). */
static void sha(uint32_t out, uint32_t in, uint32_t data, uint32_t count) {
    register uint32_t t0 __asm__("t0") = 3;
    register uint32_t a0 __asm__("a0") = out;
    register uint32_t a1 __asm__("a1") = in;
    register uint32_t a2 __asm__("a2") = data;
    register uint32_t a3 __asm__("a3") = data + 32;
    register uint32_t a4 __asm__("a4") = count;
    __asm__ volatile("ecall" : : "r"(t0), "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(a4) : "memory");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        printf("usage: bad_buffers SYSCALL kernel|cross|wrap|null|huge\n");
        return 2;
    }
    const char *syscall = argv[0], *which = argv[1];
    uint32_t ptr = (uint32_t)user_buffer, words = 16;
    if (!strcmp(which, "kernel")) {
        ptr = 0xc0001000u;
    } else if (!strcmp(which, "cross")) {
        ptr = 0xc0000000u - 8;
    } else if (!strcmp(which, "wrap")) {
        ptr = 0xfffffff0u;
    } else if (!strcmp(which, "null")) {
        ptr = 0;
    } else if (!strcmp(which, "huge")) {
        words = 0x30000000u;
    } else {
        printf("unknown buffer %s\n", which);
        return 2;
    }
    uint32_t bytes = words * 4;
    printf("%s into %08lx, %lu words\n", syscall, (unsigned long)ptr, (unsigned long)words);
    /* Host to guest: the buffer in a0/a1 (bytes for SYS_READ). */
    if (!strcmp(syscall, "random"))
        zkjit_software(11, PREFIX "SYS_RANDOM", (void *)ptr, words, 0, 0, 0);
    else if (!strcmp(syscall, "read"))
        zkjit_software(12, PREFIX "SYS_READ", (void *)ptr, bytes, 0, bytes, 0);
    else if (!strcmp(syscall, "argv"))
        zkjit_software(4, PREFIX "SYS_ARGV", (void *)ptr, words, 0, 0, 0);
    else if (!strcmp(syscall, "getenv"))
        zkjit_software(5, PREFIX "SYS_GETENV", (void *)ptr, words, (uint32_t)"HOME", 4, 0);
    else if (!strcmp(syscall, "keccak"))
        zkjit_software(7, PREFIX "SYS_KECCAK", (void *)ptr, 50, 0, (uint32_t)user_buffer, 0);
    /* Guest to host: the buffer in the arguments. */
    else if (!strcmp(syscall, "write"))
        zkjit_software(16, PREFIX "SYS_WRITE", 0, 0, 1, ptr, bytes);
    else if (!strcmp(syscall, "log"))
        zkjit_software(8, PREFIX "SYS_LOG", 0, 0, ptr, bytes, 0);
    else if (!strcmp(syscall, "panic"))
        zkjit_software(9, PREFIX "SYS_PANIC", 0, 0, ptr, bytes, 0);
    else if (!strcmp(syscall, "getenv-name"))
        zkjit_software(5, PREFIX "SYS_GETENV", user_buffer, 16, ptr, bytes, 0);
    else if (!strcmp(syscall, "keccak-state"))
        zkjit_software(7, PREFIX "SYS_KECCAK", user_buffer, 50, 0, ptr, 0);
    else if (!strcmp(syscall, "verify"))
        zkjit_software(15, PREFIX "SYS_VERIFY_INTEGRITY2", 0, 0, ptr, 0, 0);
    else if (!strcmp(syscall, "name"))
        zkjit_software(1, (const char *)ptr, 0, 0, 0, 0, 0);
    /* Accelerators: each of their buffers in turn. */
    else if (!strcmp(syscall, "sha-out"))
        sha(ptr, (uint32_t)user_buffer, (uint32_t)user_buffer, 1);
    else if (!strcmp(syscall, "sha-in"))
        sha((uint32_t)user_buffer, ptr, (uint32_t)user_buffer, 1);
    else if (!strcmp(syscall, "sha-data"))
        sha((uint32_t)user_buffer, (uint32_t)user_buffer, ptr, words / 16);
    else if (!strcmp(syscall, "poseidon2-state"))
        zkjit_poseidon2((uint32_t *)ptr, user_buffer, user_buffer, 1);
    else if (!strcmp(syscall, "poseidon2-in"))
        zkjit_poseidon2(0, (const void *)ptr, user_buffer, 2);
    else if (!strcmp(syscall, "poseidon2-out"))
        zkjit_poseidon2(0, user_buffer, (uint32_t *)ptr, 1);
    else if (!strcmp(syscall, "bigint2-in"))
        zkjit_bigint2(modadd_256_blob, (const void *)ptr, user_buffer, modulus, user_buffer + 8);
    else if (!strcmp(syscall, "bigint2-out"))
        zkjit_bigint2(modadd_256_blob, user_buffer, user_buffer, modulus, (void *)ptr);
    else {
        printf("unknown syscall %s\n", syscall);
        return 2;
    }
    printf("the host took it\n");
    return 1;
}
