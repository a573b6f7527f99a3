/* A host function, as risc0-zkvm's slice I/O serves them: sends its
 * argument (default "stressed") to the host function "zkjit::reverse",
 * then fetches the answer in two pieces (the second call hands back what
 * the buffer holds, the third the rest), and prints it. */
#include <stdio.h>
#include <string.h>
#include "zkjit.h"

static const char NAME[] = "zkjit::reverse";
/* The number risc0-zkvm-platform gives host functions (Syscall::User). */
#define NR_USER 13

int main(int argc, char **argv) {
    const char *text = argc > 0 ? argv[0] : "stressed";
    uint32_t length =
        zkjit_software(NR_USER, NAME, 0, 0, (uint32_t)text, (uint32_t)strlen(text), 0).a0;
    static char answer[256];
    uint32_t first_words = length / 8;
    uint32_t first = zkjit_software(NR_USER, NAME, answer, first_words, 0, 0, 0).a0;
    uint32_t rest_words = (length - first + 3) / 4;
    uint32_t rest = zkjit_software(NR_USER, NAME, answer + first, rest_words, 0, 0, 0).a0;
    printf("%lu bytes in %lu + %lu: %.*s\n", (unsigned long)length, (unsigned long)first,
           (unsigned long)rest, (int)(first + rest), answer);
    return 0;
}
