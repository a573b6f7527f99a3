/* The BIGINT2 accelerator with the bigint programs risc0-bigint2 ships
 * (tests/guests/bibc/): secp256k1 field arithmetic, point doubling and
 * addition, and a 4096-bit modular multiply (RSA's step). Prints every
 * result. Argument N (default 16) is how many times to double and add the
 * generator; "bad-program" calls a blob whose program is corrupt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zkjit.h"
#include "zkjit_secp256k1.h"

#define BLOB(name) ZKJIT_BIGINT2_BLOB(name##_blob, "bibc/" #name ".blob")
BLOB(modmul_256)
BLOB(modadd_256)
BLOB(modsub_256)
BLOB(modinv_256)
BLOB(modmul_4096)
BLOB(ec_add_256)
BLOB(ec_double_256)


#define P CURVE[0]

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
        zkjit_bigint2(corrupt, &G.x, &G.y, &P, &out);
        printf("unreachable\n");
        return 1;
    }
    int rounds = n > 0 ? atoi(arg) : 16;

    u256 sum, diff, prod, inv;
    zkjit_bigint2(modadd_256_blob, &G.x, &G.y, &P, &sum);
    zkjit_bigint2(modsub_256_blob, &G.x, &G.y, &P, &diff);
    zkjit_bigint2(modsub_256_blob, &G.y, &G.x, &P, &diff);
    zkjit_bigint2(modmul_256_blob, &G.x, &G.y, &P, &prod);
    zkjit_bigint2(modinv_256_blob, &G.x, &P, &inv, NULL);
    show("add", sum.w, 8);
    show("sub", diff.w, 8);
    show("mul", prod.w, 8);
    show("inv", inv.w, 8);

    point acc = G, doubled;
    for (int i = 0; i < rounds; i++) {
        zkjit_bigint2(ec_double_256_blob, &acc, CURVE, &doubled, NULL);
        zkjit_bigint2(ec_add_256_blob, &doubled, &G, CURVE, &acc);
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
    zkjit_bigint2(modmul_4096_blob, rsa_a, rsa_b, rsa_n, rsa_out);
    show("rsa", rsa_out, 128);
    return 0;
}
