/* Exits with the code given as its first argument (default 42). */
#include <stdlib.h>

int main(int argc, char **argv) {
    return argc > 0 ? atoi(argv[0]) : 42;
}
