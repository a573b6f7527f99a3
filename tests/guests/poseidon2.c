/* The POSEIDON2 accelerator in every mode: without and with a state, 16-bit
 * cells and field elements (some at or above the field's modulus), 0, 1
 * and several blocks, chained states, and a check of a correct result.
 * Prints every result; with argument "bad-check" checks a wrong result, and
 * with "bad-address" reads input past the end of memory. */
#include <stdio.h>
#include <string.h>
#include "zkjit.h"

static uint32_t input[4 * 16];
static uint32_t state[8];
static uint32_t out[8];

static void show(const char *what, const uint32_t *words) {
    printf("%s:", what);
    for (int i = 0; i < 8; i++)
        printf(" %08lx", (unsigned long)words[i]);
    printf("\n");
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    for (int i = 0; i < 4 * 16; i++)
        input[i] = 0x9e3779b9u * (uint32_t)(i + 1);
    input[3] = 0x78000001u; /* the modulus */
    input[4] = 0xffffffffu;

    char arg[16] = {0};
    size_t n = zkjit_argc() > 0 ? zkjit_argv(0, arg, sizeof(arg) - 1) : 0;
    arg[n] = 0;
    if (strcmp(arg, "bad-check") == 0) {
        memset(out, 0, sizeof(out));
        zkjit_poseidon2(NULL, input, out, 1 | ZKJIT_POSEIDON2_CHECK_OUT);
        printf("unreachable\n");
        return 1;
    }
    if (strcmp(arg, "bad-address") == 0) {
        zkjit_poseidon2(NULL, (const void *)0xfffffff0u, out, 2);
        printf("unreachable\n");
        return 1;
    }

    for (uint32_t blocks = 0; blocks <= 3; blocks++) {
        zkjit_poseidon2(NULL, input, out, blocks);
        show("cells", out);
        zkjit_poseidon2(NULL, input, out, blocks | ZKJIT_POSEIDON2_IS_ELEM);
        show("elems", out);
    }
    memset(state, 0, sizeof(state));
    state[0] = 12345;
    state[7] = 0xfffffff0u;
    for (int round = 0; round < 3; round++) {
        zkjit_poseidon2(state, input + 16 * round, out, 1 + round);
        show("state", state);
        show("out", out);
        zkjit_poseidon2(state, input, out, 2 | ZKJIT_POSEIDON2_IS_ELEM);
        show("state", state);
        show("out", out);
    }
    /* A correct result passes the check and leaves the output as it was. */
    zkjit_poseidon2(NULL, input, out, 4);
    zkjit_poseidon2(NULL, input, out, 4 | ZKJIT_POSEIDON2_CHECK_OUT);
    show("checked", out);
    return 0;
}
