/* Prints its arguments and the variable ZKJIT_GREETING. */
#include <stdio.h>
#include "zkjit.h"

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    char value[128];
    size_t len = zkjit_getenv("ZKJIT_GREETING", value, sizeof(value) - 1);
    if (len == (size_t)-1) {
        printf("ZKJIT_GREETING is not set\n");
    } else {
        value[len < sizeof(value) - 1 ? len : sizeof(value) - 1] = 0;
        printf("ZKJIT_GREETING=%s\n", value);
    }
    return 0;
}
