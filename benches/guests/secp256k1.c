/* secp256k1 scalar multiplications k*G by double-and-add with the BIGINT2
 * accelerator (risc0-bigint2's point programs): a guest whose time is its
 * bigint calls, as signature checks are. Not built natively (the
 * accelerator is the zkVM's). Prints the sum of the x coordinates. */
#include <stdio.h>
#include <string.h>
#include "zkjit.h"
#include "zkjit_secp256k1.h"

ZKJIT_BIGINT2_BLOB(ec_add_blob, "../../tests/guests/bibc/ec_add_256.blob")
ZKJIT_BIGINT2_BLOB(ec_double_blob, "../../tests/guests/bibc/ec_double_256.blob")
ZKJIT_BIGINT2_BLOB(modadd_blob, "../../tests/guests/bibc/modadd_256.blob")

#define SCALARS 24



/* k*G for 1 < k < 2^255, the top bit of k set. */
static void multiply(const u256 *k, point *out) {
    point acc = G, next;
    for (int bit = 253; bit >= 0; bit--) {
        zkjit_bigint2(ec_double_blob, &acc, CURVE, &next, NULL);
        if (k->w[bit / 32] >> (bit % 32) & 1)
            zkjit_bigint2(ec_add_blob, &next, &G, CURVE, &acc);
        else
            acc = next;
    }
    *out = acc;
}

int main(void) {
    uint32_t seed = 0x2026;
    u256 sum = {{0}};
    for (int s = 0; s < SCALARS; s++) {
        u256 k;
        for (int i = 0; i < 8; i++) {
            seed = seed * 1664525u + 1013904223u;
            k.w[i] = seed;
        }
        k.w[7] = (k.w[7] & 0x3fffffffu) | 0x40000000u;
        point p;
        multiply(&k, &p);
        zkjit_bigint2(modadd_blob, &sum, &p.x, &CURVE[0], &sum);
    }
    printf("secp256k1 ");
    for (int i = 7; i >= 0; i--)
        printf("%08lx", (unsigned long)sum.w[i]);
    printf("\n");
    return 0;
}
