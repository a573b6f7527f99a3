/* zkjit guest runtime: the system calls a C program for the RISC Zero zkVM
 * can make. Link with start.S, zkjit.c and link.ld (see runtime/README.md). */
#ifndef ZKJIT_H
#define ZKJIT_H

#include <stddef.h>
#include <stdint.h>

#define ZKJIT_STDIN 0
#define ZKJIT_STDOUT 1
#define ZKJIT_STDERR 2
#define ZKJIT_JOURNAL 3

/* Ends the program with `exit_code` (0..255). Flushes stdout first. */
void zkjit_halt(unsigned exit_code) __attribute__((noreturn));
/* Pauses the program; the host ends the run with halt "pause". */
void zkjit_pause(unsigned exit_code);
/* Terminates with `exit_code` and the output digest at `output` (8 words):
 * a real guest's is the digest of its journal and assumptions; an executor
 * keeps the journal and lists the assumptions in the claim only when it is
 * non-zero. */
void zkjit_halt_with_output(unsigned exit_code, const uint32_t output[8])
    __attribute__((noreturn));

/* Reads up to `n` bytes from host file `fd` (0 = stdin); returns bytes read. */
size_t zkjit_read(uint32_t fd, void *buf, size_t n);
/* Writes `n` bytes to host file `fd` (1 stdout, 2 stderr, 3 journal). */
void zkjit_write(uint32_t fd, const void *buf, size_t n);
/* Appends `n` bytes to the journal. */
void zkjit_commit(const void *buf, size_t n);
/* Prints a line to the host's log. */
void zkjit_log(const char *msg, size_t n);
/* Ends the run with a guest panic carrying `msg`. */
void zkjit_panic(const char *msg, size_t n) __attribute__((noreturn));

/* Number of user cycles executed so far. */
uint64_t zkjit_cycle_count(void);
/* Guest arguments passed after `--` on the zkjit command line. */
uint32_t zkjit_argc(void);
/* Copies argument `index` into buf (at most cap bytes, no NUL); returns its length. */
size_t zkjit_argv(uint32_t index, char *buf, size_t cap);
/* Copies the value of host environment variable `name` (at most cap bytes,
 * no NUL); returns its length, or (size_t)-1 when it is not set. */
size_t zkjit_getenv(const char *name, char *buf, size_t cap);
/* Fills `words` words with host randomness. */
void zkjit_random(uint32_t *buf, size_t words);
/* Word `index` (0..7) of the input digest. */
uint32_t zkjit_input(uint32_t index);

/* SHA-256 compression of `nblocks` 64-byte blocks with the accelerator.
 * States are 8 words holding the digest bytes in order (big-endian words
 * as seen by SHA-256); `out` may equal `in`. */
void zkjit_sha_compress(uint32_t out[8], const uint32_t in[8], const void *blocks,
                        uint32_t nblocks);
/* SHA-256 of a whole message with the accelerator; writes 32 digest bytes. */
void zkjit_sha256(const void *msg, size_t len, uint8_t digest[32]);

/* What a software syscall returns: the host's a0 and a1. */
struct zkjit_ret2 {
    uint32_t a0, a1;
};

/* One software syscall (SOFTWARE user ecall, t0 = 2): number `nr` (t6) and
 * name `name` as risc0_zkvm_platform has them, a host-to-guest buffer of
 * `from_host_len` words (bytes for SYS_READ), arguments a3..a5. */
static inline struct zkjit_ret2 zkjit_software(uint32_t nr, const char *name, void *from_host,
                                               uint32_t from_host_len, uint32_t a3, uint32_t a4,
                                               uint32_t a5) {
    register uint32_t t0 __asm__("t0") = 2;
    register uint32_t t6 __asm__("t6") = nr;
    register uint32_t r_a0 __asm__("a0") = (uint32_t)from_host;
    register uint32_t r_a1 __asm__("a1") = from_host_len;
    register uint32_t r_a2 __asm__("a2") = (uint32_t)name;
    register uint32_t r_a3 __asm__("a3") = a3;
    register uint32_t r_a4 __asm__("a4") = a4;
    register uint32_t r_a5 __asm__("a5") = a5;
    __asm__ volatile("ecall"
                     : "+r"(r_a0), "+r"(r_a1)
                     : "r"(t0), "r"(t6), "r"(r_a2), "r"(r_a3), "r"(r_a4), "r"(r_a5)
                     : "memory");
    struct zkjit_ret2 r = {r_a0, r_a1};
    return r;
}

/* Flags of zkjit_poseidon2's `bits_count`, above its 16-bit block count. */
#define ZKJIT_POSEIDON2_IS_ELEM 0x80000000u
#define ZKJIT_POSEIDON2_CHECK_OUT 0x40000000u

/* The POSEIDON2 accelerator: absorbs the blocks at `in` (16 field elements
 * a block with ZKJIT_POSEIDON2_IS_ELEM, else 8 words of two 16-bit cells)
 * into the 8-word capacity `state` (NULL: zeros, not kept), and writes the
 * 8-word result to `out` (or, with ZKJIT_POSEIDON2_CHECK_OUT, checks it
 * there). Buffers are word-aligned; the kernel takes word addresses.
 * Inline, so that programs that do not use it do not change. */
static inline void zkjit_poseidon2(uint32_t state[8], const void *in, uint32_t out[8],
                                   uint32_t bits_count) {
    register uint32_t t0 __asm__("t0") = 7; /* the POSEIDON2 user ecall */
    register uint32_t a0 __asm__("a0") = (uint32_t)state / 4;
    register uint32_t a1 __asm__("a1") = (uint32_t)in / 4;
    register uint32_t a2 __asm__("a2") = (uint32_t)out / 4;
    register uint32_t a3 __asm__("a3") = bits_count;
    __asm__ volatile("ecall" : : "r"(t0), "r"(a0), "r"(a1), "r"(a2), "r"(a3) : "memory");
}

/* Embeds the bigint program blob at `path` (a risc0-bigint2 .blob file) as
 * the word array `name`. */
#define ZKJIT_BIGINT2_BLOB(name, path)                                       \
    __asm__(".section .rodata\n.balign 4\n" #name ":\n.incbin \"" path "\"\n.previous"); \
    extern const uint32_t name[];

/* The BIGINT2 accelerator, as risc0-zkvm-platform's sys_bigint2_N: runs
 * the bigint program of `blob` on the arguments (pointers the program reads
 * and writes). Its header gives where the programs and constants are and
 * how much stack the program uses. Inline, as zkjit_poseidon2. */
static inline void zkjit_bigint2(const uint32_t *blob, const void *p1, const void *p2,
                                 const void *p3, const void *p4) {
    const uint32_t *nondet = blob + 4;
    const uint32_t *verify = nondet + blob[0];
    const uint32_t *consts = verify + blob[1];
    uint32_t temp = blob[3] << 2;
    register uint32_t t0 __asm__("t0") = 6; /* the BIGINT2 user ecall */
    register uint32_t t1 __asm__("t1") = (uint32_t)nondet;
    register uint32_t t2 __asm__("t2") = (uint32_t)verify;
    register uint32_t t3 __asm__("t3") = (uint32_t)consts;
    register uint32_t a0 __asm__("a0") = (uint32_t)blob;
    register uint32_t a1 __asm__("a1") = (uint32_t)p1;
    register uint32_t a2 __asm__("a2") = (uint32_t)p2;
    register uint32_t a3 __asm__("a3") = (uint32_t)p3;
    register uint32_t a4 __asm__("a4") = (uint32_t)p4;
    __asm__ volatile("sub sp, sp, %[temp]\n\tecall\n\tadd sp, sp, %[temp]"
                     :
                     : [temp] "r"(temp), "r"(t0), "r"(t1), "r"(t2), "r"(t3), "r"(a0), "r"(a1),
                       "r"(a2), "r"(a3), "r"(a4)
                     : "memory");
}

#endif
