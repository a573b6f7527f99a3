/* zkjit guest runtime: system calls through the user ECALL ABI of the
 * RISC Zero zkVM kernel, plus the picolibc hooks (stdio, _exit, heap). */
#include "zkjit.h"

#include <stdio.h>
#include <string.h>

/* User ECALL requests (t0). */
#define ECALL_HALT 0
#define ECALL_INPUT 1
#define ECALL_SOFTWARE 2
#define ECALL_SHA 3

/* Software syscall numbers (t6) and names, as risc0_zkvm_platform has them. */
#define SYS_ARGC 1
#define SYS_ARGV 2
#define SYS_CYCLE_COUNT 3
#define SYS_GETENV 6
#define SYS_LOG 8
#define SYS_PANIC 9
#define SYS_RANDOM 11
#define SYS_READ 12
#define SYS_WRITE 16

#define ret2 zkjit_ret2
#define software zkjit_software

static void flush_stdout(void);

static const uint32_t zero_digest[8];

static void halt(uint32_t halt_type, unsigned exit_code) {
    flush_stdout();
    register uint32_t t0 __asm__("t0") = ECALL_HALT;
    register uint32_t a0 __asm__("a0") = halt_type | ((exit_code & 0xff) << 8);
    register uint32_t a1 __asm__("a1") = (uint32_t)zero_digest;
    __asm__ volatile("ecall" : : "r"(t0), "r"(a0), "r"(a1) : "memory");
}

void zkjit_halt(unsigned exit_code) {
    halt(0, exit_code);
    __builtin_unreachable();
}

void zkjit_pause(unsigned exit_code) { halt(1, exit_code); }

void zkjit_halt_with_output(unsigned exit_code, const uint32_t output[8]) {
    flush_stdout();
    register uint32_t t0 __asm__("t0") = ECALL_HALT;
    register uint32_t a0 __asm__("a0") = (exit_code & 0xff) << 8;
    register uint32_t a1 __asm__("a1") = (uint32_t)output;
    __asm__ volatile("ecall" : : "r"(t0), "r"(a0), "r"(a1) : "memory");
    __builtin_unreachable();
}

uint32_t zkjit_input(uint32_t index) {
    register uint32_t t0 __asm__("t0") = ECALL_INPUT;
    register uint32_t a0 __asm__("a0") = index & 7;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(t0) : "memory");
    return a0;
}

size_t zkjit_read(uint32_t fd, void *buf, size_t n) {
    return software(SYS_READ, "risc0_zkvm_platform::syscall::nr::SYS_READ", buf, n, fd, n, 0).a0;
}

void zkjit_write(uint32_t fd, const void *buf, size_t n) {
    software(SYS_WRITE, "risc0_zkvm_platform::syscall::nr::SYS_WRITE", 0, 0, fd, (uint32_t)buf, n);
}

void zkjit_commit(const void *buf, size_t n) { zkjit_write(ZKJIT_JOURNAL, buf, n); }

void zkjit_log(const char *msg, size_t n) {
    software(SYS_LOG, "risc0_zkvm_platform::syscall::nr::SYS_LOG", 0, 0, (uint32_t)msg, n, 0);
}

void zkjit_panic(const char *msg, size_t n) {
    flush_stdout();
    software(SYS_PANIC, "risc0_zkvm_platform::syscall::nr::SYS_PANIC", 0, 0, (uint32_t)msg, n, 0);
    /* A host that returns from a panic still must not continue. */
    __asm__ volatile("unimp");
    __builtin_unreachable();
}

uint64_t zkjit_cycle_count(void) {
    struct ret2 r = software(SYS_CYCLE_COUNT, "risc0_zkvm_platform::syscall::nr::SYS_CYCLE_COUNT",
                             0, 0, 0, 0, 0);
    return ((uint64_t)r.a0 << 32) | r.a1;
}

uint32_t zkjit_argc(void) {
    return software(SYS_ARGC, "risc0_zkvm_platform::syscall::nr::SYS_ARGC", 0, 0, 0, 0, 0).a0;
}

/* Host-to-guest transfers come in whole words: bounce through a word buffer. */
static uint32_t bounce[256];

static size_t copy_out(size_t len, char *buf, size_t cap) {
    size_t n = len < cap ? len : cap;
    if (n > sizeof(bounce))
        n = sizeof(bounce);
    memcpy(buf, bounce, n);
    return len;
}

size_t zkjit_argv(uint32_t index, char *buf, size_t cap) {
    struct ret2 r = software(SYS_ARGV, "risc0_zkvm_platform::syscall::nr::SYS_ARGV", bounce,
                             sizeof(bounce) / 4, index, 0, 0);
    return copy_out(r.a0, buf, cap);
}

size_t zkjit_getenv(const char *name, char *buf, size_t cap) {
    struct ret2 r = software(SYS_GETENV, "risc0_zkvm_platform::syscall::nr::SYS_GETENV", bounce,
                             sizeof(bounce) / 4, (uint32_t)name, strlen(name), 0);
    if (r.a0 == 0xffffffff)
        return (size_t)-1;
    return copy_out(r.a0, buf, cap);
}

void zkjit_random(uint32_t *buf, size_t words) {
    software(SYS_RANDOM, "risc0_zkvm_platform::syscall::nr::SYS_RANDOM", buf, words, 0, 0, 0);
}

void zkjit_sha_compress(uint32_t out[8], const uint32_t in[8], const void *blocks,
                        uint32_t nblocks) {
    register uint32_t t0 __asm__("t0") = ECALL_SHA;
    register uint32_t a0 __asm__("a0") = (uint32_t)out;
    register uint32_t a1 __asm__("a1") = (uint32_t)in;
    register uint32_t a2 __asm__("a2") = (uint32_t)blocks;
    register uint32_t a3 __asm__("a3") = (uint32_t)blocks + 32;
    register uint32_t a4 __asm__("a4") = nblocks;
    __asm__ volatile("ecall"
                     :
                     : "r"(t0), "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(a4)
                     : "memory");
}

static uint32_t bswap32(uint32_t x) { return __builtin_bswap32(x); }

void zkjit_sha256(const void *msg, size_t len, uint8_t digest[32]) {
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    uint32_t state[8];
    for (int i = 0; i < 8; i++)
        state[i] = bswap32(iv[i]);
    const uint8_t *p = msg;
    size_t whole = len / 64;
    /* Blocks must be word-aligned for the accelerator. */
    uint32_t block[16];
    for (size_t i = 0; i < whole; i++) {
        memcpy(block, p + 64 * i, 64);
        zkjit_sha_compress(state, state, block, 1);
    }
    uint8_t tail[128];
    size_t rest = len - 64 * whole;
    memset(tail, 0, sizeof(tail));
    memcpy(tail, p + 64 * whole, rest);
    tail[rest] = 0x80;
    size_t tail_len = rest + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t off = 0; off < tail_len; off += 64) {
        memcpy(block, tail + off, 64);
        zkjit_sha_compress(state, state, block, 1);
    }
    memcpy(digest, state, 32);
}

/* ---- picolibc hooks ---- */

static char out_buf[256];
static size_t out_len;

static void flush_stdout(void) {
    if (out_len) {
        zkjit_write(ZKJIT_STDOUT, out_buf, out_len);
        out_len = 0;
    }
}

static int stdout_put(char c, FILE *f) {
    (void)f;
    out_buf[out_len++] = c;
    if (c == '\n' || out_len == sizeof(out_buf))
        flush_stdout();
    return (unsigned char)c;
}

static int stderr_put(char c, FILE *f) {
    (void)f;
    flush_stdout();
    zkjit_write(ZKJIT_STDERR, &c, 1);
    return (unsigned char)c;
}

static int stdin_get(FILE *f) {
    (void)f;
    unsigned char c;
    return zkjit_read(ZKJIT_STDIN, &c, 1) == 1 ? c : EOF;
}

static int stdout_flush(FILE *f) {
    (void)f;
    flush_stdout();
    return 0;
}

static FILE zk_stdin = FDEV_SETUP_STREAM(NULL, stdin_get, NULL, _FDEV_SETUP_READ);
static FILE zk_stdout = FDEV_SETUP_STREAM(stdout_put, NULL, stdout_flush, _FDEV_SETUP_WRITE);
static FILE zk_stderr = FDEV_SETUP_STREAM(stderr_put, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdin = &zk_stdin;
FILE *const stdout = &zk_stdout;
FILE *const stderr = &zk_stderr;

void _exit(int status) { zkjit_halt((unsigned)status); }

/* ---- start-up ---- */

extern int main(int argc, char **argv);
extern void __libc_init_array(void);

#define MAX_ARGS 16
static char arg_storage[1024];
static char *arg_ptrs[MAX_ARGS + 1];

/* Called from start.S with the stack and bss set up. */
void __attribute__((noreturn)) _zkjit_start(void) {
    __libc_init_array();
    uint32_t argc = zkjit_argc();
    if (argc > MAX_ARGS)
        argc = MAX_ARGS;
    size_t used = 0;
    for (uint32_t i = 0; i < argc; i++) {
        size_t room = sizeof(arg_storage) - used - 1;
        size_t len = zkjit_argv(i, arg_storage + used, room);
        if (len > room)
            len = room;
        arg_ptrs[i] = arg_storage + used;
        arg_storage[used + len] = 0;
        used += len + 1;
    }
    arg_ptrs[argc] = 0;
    zkjit_halt((unsigned)main((int)argc, arg_ptrs));
}
