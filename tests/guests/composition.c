/* The software syscalls of composition, KECCAK and pipes, as risc0-zkvm
 * guests make them: SYS_KECCAK permutations and the proof of their batch,
 * SYS_VERIFY_INTEGRITY2 of that batch's claim, SYS_VERIFY_INTEGRITY of a
 * claim the host must know (run with --assumption 11...11), and bytes
 * written to a SYS_PIPE and read back. Prints the permuted states and what
 * came through the pipe. */
#include <stdio.h>
#include <string.h>
#include "zkjit.h"

#define NR_KECCAK 7
#define NR_PIPE 10
#define NR_READ 12
#define NR_WRITE 16
#define NR_VERIFY_INTEGRITY 14
#define NR_VERIFY_INTEGRITY2 15
#define PREFIX "risc0_zkvm_platform::syscall::nr::"

static uint32_t software(uint32_t nr, const char *name, void *from_host, uint32_t words,
                         uint32_t a3, uint32_t a4, uint32_t a5) {
    return zkjit_software(nr, name, from_host, words, a3, a4, a5).a0;
}

static uint64_t state[25], out[25];
static uint32_t claim_and_root[16];

static void show(const uint64_t *lanes) {
    for (int i = 0; i < 25; i++)
        printf("%016llx%s", (unsigned long long)lanes[i], i % 5 == 4 ? "\n" : " ");
}

int main(void) {
    /* keccak-f[1600] of the zero state, then of that result. */
    for (int round = 0; round < 2; round++) {
        uint32_t full = software(NR_KECCAK, PREFIX "SYS_KECCAK", out, 50, 0, (uint32_t)state, 0);
        printf("permutation %d (batch full: %lu):\n", round, (unsigned long)full);
        show(out);
        memcpy(state, out, sizeof(state));
    }
    /* Prove the batch: a claim digest at a4, a control root at a5. */
    for (int i = 0; i < 8; i++)
        claim_and_root[i] = 0x01010101u * (uint32_t)(i + 1);
    software(NR_KECCAK, PREFIX "SYS_KECCAK", 0, 0, 1, (uint32_t)claim_and_root,
             (uint32_t)(claim_and_root + 8));
    software(NR_VERIFY_INTEGRITY2, PREFIX "SYS_VERIFY_INTEGRITY2", 0, 0,
             (uint32_t)claim_and_root, 0, 0);
    printf("verified the keccak claim\n");
    /* A claim only the host's assumptions resolve (any control root). */
    memset(claim_and_root, 0x11, 32);
    memset(claim_and_root + 8, 0, 32);
    software(NR_VERIFY_INTEGRITY, PREFIX "SYS_VERIFY_INTEGRITY", 0, 0, (uint32_t)claim_and_root,
             0, 0);
    printf("verified the assumption\n");
    /* A pipe: both descriptors come back in the buffer. */
    uint32_t fds[2];
    software(NR_PIPE, PREFIX "SYS_PIPE", fds, 2, 0, 0, 0);
    static const char message[] = "through the pipe";
    software(NR_WRITE, PREFIX "SYS_WRITE", 0, 0, fds[1], (uint32_t)message, sizeof(message) - 1);
    static char back[32];
    uint32_t n = software(NR_READ, PREFIX "SYS_READ", back, 16, fds[0], 16, 0);
    printf("pipe %lu/%lu: %lu bytes: %.16s\n", (unsigned long)fds[0], (unsigned long)fds[1],
           (unsigned long)n, back);
    return 0;
}
