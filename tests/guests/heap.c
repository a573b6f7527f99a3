/* Allocates, fills, frees and reallocates heap memory through malloc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
    struct node *next;
    unsigned value;
    unsigned char pad[20];
};

int main(void) {
    struct node *head = NULL;
    for (unsigned i = 0; i < 20000; i++) {
        struct node *n = malloc(sizeof(*n));
        if (!n) {
            printf("malloc failed at %u\n", i);
            return 2;
        }
        n->value = i * 3;
        n->next = head;
        head = n;
    }
    unsigned long long sum = 0;
    while (head) {
        struct node *next = head->next;
        sum += head->value;
        free(head);
        head = next;
    }
    char *big = malloc(1 << 20);
    if (!big)
        return 3;
    memset(big, 0x5a, 1 << 20);
    big = realloc(big, 2 << 20);
    unsigned check = 0;
    for (int i = 0; i < (1 << 20); i += 4096)
        check += (unsigned char)big[i];
    free(big);
    printf("sum=%llu check=%u\n", sum, check);
    return sum == 599970000ULL && check == 256 * 0x5a ? 0 : 1;
}
