/* Benchmark: a small stack-machine bytecode interpreter built on a switch,
 * running a nested loop. */
#include <stdint.h>
#include <stdio.h>

enum { PUSH, LOAD, STORE, ADD, SUB, MUL, MOD, LT, JZ, JMP, HALT };

/* for (i = 0; i < 300000; i++) acc = (acc + i * i) % 1000003; */
static const int32_t program[] = {
    PUSH, 0, STORE, 0,          /* i = 0 */
    PUSH, 0, STORE, 1,          /* acc = 0 */
    LOAD, 0, PUSH, 300000, LT, JZ, 37,
    LOAD, 1, LOAD, 0, LOAD, 0, MUL, ADD, PUSH, 1000003, MOD, STORE, 1,
    LOAD, 0, PUSH, 1, ADD, STORE, 0, JMP, 8,
    HALT,
};

static int32_t run(const int32_t *code) {
    int32_t stack[64], vars[4] = {0};
    int sp = 0, pc = 0;
    for (;;) {
        switch (code[pc++]) {
        case PUSH: stack[sp++] = code[pc++]; break;
        case LOAD: stack[sp++] = vars[code[pc++]]; break;
        case STORE: vars[code[pc++]] = stack[--sp]; break;
        case ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case MUL: sp--; stack[sp - 1] = (int32_t)((uint32_t)stack[sp - 1] * (uint32_t)stack[sp]); break;
        case MOD: sp--; stack[sp - 1] = (int32_t)((uint32_t)stack[sp - 1] % (uint32_t)stack[sp]); break;
        case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
        case JZ: { int32_t target = code[pc++]; if (!stack[--sp]) pc = target; break; }
        case JMP: pc = code[pc]; break;
        case HALT: return vars[1];
        }
    }
}

int main(void) {
    int32_t result = run(program);
    printf("bytecode %ld\n", (long)result);
    return 0;
}
