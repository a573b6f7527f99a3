/* The BIGINT2 accelerator with the bigint programs risc0-bigint2 ships
 * (tests/guests/bibc/): secp256k1 field arithmetic, point doubling and
 * addition, and a 4096-bit modular multiply (RSA's step). Prints every
 * result. Argument N (default 16) is how many times to double and add the
 * generator; "bad-program" calls a blob whose program is corrupt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zkjit.h"

#define BLOB(name)                                                          \
    __asm__(".section .rodata\n.balign 4\n" #name "_blob:\n.incbin \"bibc/" #name \
            ".blob\"\n.previous");                                          \
    extern const uint32_t name##_blob[];
BLOB(modmul_256)
BLOB(modadd_256)
BLOB(modsub_256)
BLOB(modinv_256)
BLOB(modmul_4096)
BLOB(ec_add_256)
BLOB(ec_double_256)

/* As risc0-zkvm-platform's sys_bigint2_N: the blob's header gives where
 * its programs and constants are and how much stack the program uses. */
static void bigint2(const uint32_t *blob, const void *p1, const void *p2, const void *p3,
                    const void *p4) {
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

typedef struct { uint32_t w[8]; } u256;
typedef struct { u256 x, y; } point;

static const u256 P = {{0xfffffc2f, 0xfffffffe, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
                        0xffffffff, 0xffffffff}};
static const u256 CURVE[3] = {
    {{0xfffffc2f, 0xfffffffe, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
      0xffffffff}},
    {{0}},
    {{7}},
};
static const point G = {
    {{0x16f81798, 0x59f2815b, 0x2dce28d9, 0x029bfcdb, 0xce870b07, 0x55a06295, 0xf9dcbbac,
      0x79be667e}},
    {{0xfb10d4b8, 0x9c47d08f, 0xa6855419, 0xfd17b448, 0x0e1108a8, 0x5da4fbfc, 0x26a3c465,
      0x483ada77}},
};

static void show(const char *what, const uint32_t *w, int words) {
    printf("%s:", what);
    for (int i = words - 1; i >= 0; i--)
        printf("%08lx", (unsigned long)w[i]);
    printf("\n");
}

static uint32_t rsa_a[128], rsa_b[128], rsa_n[128], rsa_out[128];

int main(void) {
    char arg[16] = {0};
    size_t n = zkjit_argc() > 0 ? zkjit_argv(0, arg, sizeof(arg) - 1) : 0;
    arg[n] = 0;
    if (strcmp(arg, "bad-program") == 0) {
        static uint32_t corrupt[128];
        memcpy(corrupt, modmul_256_blob, sizeof(corrupt));
        corrupt[4] ^= 0xff; /* the "bibc" magic */
        u256 out;
        bigint2(corrupt, &G.x, &G.y, &P, &out);
        printf("unreachable\n");
        return 1;
    }
    int rounds = n > 0 ? atoi(arg) : 16;

    u256 sum, diff, prod, inv;
    bigint2(modadd_256_blob, &G.x, &G.y, &P, &sum);
    bigint2(modsub_256_blob, &G.x, &G.y, &P, &diff);
    bigint2(modsub_256_blob, &G.y, &G.x, &P, &diff);
    bigint2(modmul_256_blob, &G.x, &G.y, &P, &prod);
    bigint2(modinv_256_blob, &G.x, &P, &inv, NULL);
    show("add", sum.w, 8);
    show("sub", diff.w, 8);
    show("mul", prod.w, 8);
    show("inv", inv.w, 8);

    point acc = G, doubled;
    for (int i = 0; i < rounds; i++) {
        bigint2(ec_double_256_blob, &acc, CURVE, &doubled, NULL);
        bigint2(ec_add_256_blob, &doubled, &G, CURVE, &acc);
    }
    show("x", acc.x.w, 8);
    show("y", acc.y.w, 8);

    for (int i = 0; i < 128; i++) {
        rsa_a[i] = 0x9e3779b9u * (uint32_t)(i + 1);
        rsa_b[i] = 0x85ebca6bu * (uint32_t)(i + 7);
        rsa_n[i] = 0xc2b2ae35u * (uint32_t)(i + 3) | 1;
    }
    rsa_n[127] |= 0x80000000u;
    rsa_a[127] &= 0x7fffffffu;
    rsa_b[127] &= 0x7fffffffu;
    bigint2(modmul_4096_blob, rsa_a, rsa_b, rsa_n, rsa_out);
    show("rsa", rsa_out, 128);
    return 0;
}
