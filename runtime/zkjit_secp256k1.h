/* secp256k1 for the BIGINT2 point programs of risc0-bigint2: 256-bit
 * numbers as 8 little-endian words, points as (x, y), and the curve as the
 * programs take it (prime, a, b). */
#ifndef ZKJIT_SECP256K1_H
#define ZKJIT_SECP256K1_H

#include <stdint.h>

typedef struct { uint32_t w[8]; } u256;
typedef struct { u256 x, y; } point;

/* The field prime p, a = 0, b = 7. */
static const u256 CURVE[3] = {
    {{0xfffffc2f, 0xfffffffe, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
      0xffffffff}},
    {{0}},
    {{7}},
};
/* The generator. */
static const point G = {
    {{0x16f81798, 0x59f2815b, 0x2dce28d9, 0x029bfcdb, 0xce870b07, 0x55a06295, 0xf9dcbbac,
      0x79be667e}},
    {{0xfb10d4b8, 0x9c47d08f, 0xa6855419, 0xfd17b448, 0x0e1108a8, 0x5da4fbfc, 0x26a3c465,
      0x483ada77}},
};

#endif
