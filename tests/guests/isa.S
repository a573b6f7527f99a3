/* riscv-tests style checks of every RV32IM instruction, edge cases
 * included. Built twice: as a bare machine-mode program (halts through the
 * host TERMINATE call) and, with -DUSER_MODE, as a user program (halts
 * through the kernel's HALT). Exit code 0 means every check passed; any
 * other is the number of the first check that failed. gp holds the number
 * of the check under way. */

#ifdef USER_MODE
.macro HALT_WITH code_reg
    slli a0, \code_reg, 8       /* HALT: a0 = exit code << 8 | terminate */
    la a1, zero_digest
    li t0, 0
    ecall
.endm
#else
.macro HALT_WITH code_reg
    slli a0, \code_reg, 16      /* TERMINATE: a0 = exit code << 16 | terminate */
    li a1, 0
    li a7, 0
    ecall
.endm
#endif

.macro CHECK num, got, want
    li gp, \num
    li t6, \want
    bne \got, t6, fail
.endm

.macro TEST_RR num, op, want, v1, v2
    li x1, \v1
    li x2, \v2
    \op x14, x1, x2
    CHECK \num, x14, \want
.endm

.macro TEST_RI num, op, want, v1, imm
    li x1, \v1
    \op x14, x1, \imm
    CHECK \num, x14, \want
.endm

/* rd == rs1 == rs2 */
.macro TEST_RR_SAME num, op, want, v
    li x13, \v
    \op x13, x13, x13
    CHECK \num, x13, \want
.endm

.macro TEST_LD num, op, want, offset, label
    la x1, \label
    \op x14, \offset(x1)
    CHECK \num, x14, \want
.endm

.macro TEST_ST num, st, ld, value, offset, label
    la x1, \label
    li x2, \value
    \st x2, \offset(x1)
    \ld x14, \offset(x1)
    CHECK \num, x14, \value
.endm

.macro TEST_BR_TAKEN num, op, v1, v2
    li gp, \num
    li x1, \v1
    li x2, \v2
    \op x1, x2, 1f
    j fail
1:
.endm

.macro TEST_BR_NOT num, op, v1, v2
    li gp, \num
    li x1, \v1
    li x2, \v2
    \op x1, x2, fail
.endm

.section .text
.global _start
_start:
    /* ---- x0 ---- */
    li gp, 1
    addi x0, x0, 5
    bnez x0, fail
    li x1, 7
    add x0, x1, x1
    CHECK 2, x0, 0
    lui x0, 0x12345
    CHECK 3, x0, 0

    /* ---- ALU, register-register ---- */
    TEST_RR 10, add, 0x00000000, 0xffffffff, 0x00000001
    TEST_RR 11, add, 0x80000000, 0x7fffffff, 0x00000001
    TEST_RR 12, sub, 0xffffffff, 0x00000000, 0x00000001
    TEST_RR 13, sub, 0x7fffffff, 0x80000000, 0x00000001
    TEST_RR 14, xor, 0xf0f0f0f0, 0xff00ff00, 0x0ff00ff0
    TEST_RR 15, or,  0xfff0fff0, 0xff00ff00, 0x0ff00ff0
    TEST_RR 16, and, 0x0f000f00, 0xff00ff00, 0x0ff00ff0
    TEST_RR 17, sll, 0x80000000, 0x00000001, 31
    TEST_RR 18, sll, 0x00000001, 0x00000001, 32     /* only the low 5 bits count */
    TEST_RR 19, sll, 0x00000002, 0x00000001, 33
    TEST_RR 20, srl, 0x00000001, 0x80000000, 31
    TEST_RR 21, srl, 0x80000000, 0x80000000, 0xffffffe0
    TEST_RR 22, sra, 0xffffffff, 0x80000000, 31
    TEST_RR 23, sra, 0xc0000000, 0x80000000, 1
    TEST_RR 24, sra, 0x3fffffff, 0x7fffffff, 1
    TEST_RR 25, slt, 1, 0x80000000, 0x7fffffff
    TEST_RR 26, slt, 0, 0x7fffffff, 0x80000000
    TEST_RR 27, slt, 0, 5, 5
    TEST_RR 28, sltu, 0, 0x80000000, 0x7fffffff
    TEST_RR 29, sltu, 1, 0x7fffffff, 0x80000000
    TEST_RR 30, sltu, 1, 0, 0xffffffff
    TEST_RR_SAME 31, add, 0xfffffffe, 0xffffffff
    TEST_RR_SAME 32, sub, 0, 0x12345678
    TEST_RR_SAME 33, sltu, 0, 3

    /* ---- ALU, immediate ---- */
    TEST_RI 40, addi, 0x00000000, 0x00000001, -1
    TEST_RI 41, addi, 0x800007fe, 0x7fffffff, 2047
    TEST_RI 42, addi, 0x7ffff800, 0x80000000, -2048
    TEST_RI 43, xori, 0xffff00f0, 0x0000ff0f, -1          /* sign-extended immediate */
    TEST_RI 44, xori, 0x00ff0f00, 0x00ff0ff0, 0x0f0
    TEST_RI 45, ori,  0xffffffff, 0x00000000, -1
    TEST_RI 46, andi, 0x0000000f, 0xffffffff, 0x00f
    TEST_RI 47, andi, 0xfffff800, 0xffffffff, -2048
    TEST_RI 48, slli, 0x80000000, 0x00000001, 31
    TEST_RI 49, srli, 0x00000001, 0x80000000, 31
    TEST_RI 50, srai, 0xffffffff, 0x80000000, 31
    TEST_RI 51, srai, 0x00000001, 0x00000002, 1
    TEST_RI 52, slti, 1, 0xffffffff, 0
    TEST_RI 53, slti, 0, 0, -1
    TEST_RI 54, sltiu, 1, 0, -1                    /* -1 compares as 0xffffffff */
    TEST_RI 55, sltiu, 0, 0xffffffff, 1
    TEST_RI 56, slli, 0x00000001, 0x00000001, 0

    /* ---- LUI, AUIPC ---- */
    lui x14, 0xfffff
    CHECK 60, x14, 0xfffff000
    lui x14, 0x80000
    CHECK 61, x14, 0x80000000
1:  auipc x14, 0
    la x15, 1b
    li gp, 62
    bne x14, x15, fail
2:  auipc x14, 0x1
    la x15, 2b
    sub x14, x14, x15
    CHECK 63, x14, 0x1000

    /* ---- M extension ---- */
    TEST_RR 70, mul, 0x00000001, 0xffffffff, 0xffffffff
    TEST_RR 71, mul, 0x00000000, 0x80000000, 0x00000002
    TEST_RR 72, mul, 0xfffffff6, 0x00000005, 0xfffffffe
    TEST_RR 73, mulh, 0x00000000, 0xffffffff, 0xffffffff
    TEST_RR 74, mulh, 0x40000000, 0x80000000, 0x80000000
    TEST_RR 75, mulh, 0xffffffff, 0x00000005, 0xfffffffe
    TEST_RR 76, mulh, 0xc0000000, 0x80000000, 0x7fffffff
    TEST_RR 77, mulhsu, 0xffffffff, 0xffffffff, 0xffffffff
    TEST_RR 78, mulhsu, 0x80000000, 0x80000000, 0xffffffff
    TEST_RR 79, mulhsu, 0x00000000, 0x00000001, 0xffffffff
    TEST_RR 80, mulhu, 0xfffffffe, 0xffffffff, 0xffffffff
    TEST_RR 81, mulhu, 0x40000000, 0x80000000, 0x80000000
    TEST_RR 82, div, 0xfffffffd, 0xfffffff9, 0x00000002    /* -7 / 2 = -3 */
    TEST_RR 83, div, 0xffffffff, 0x00000007, 0x00000000    /* by zero */
    TEST_RR 84, div, 0x80000000, 0x80000000, 0xffffffff    /* MIN / -1 */
    TEST_RR 85, divu, 0x7ffffffc, 0xfffffff9, 0x00000002
    TEST_RR 86, divu, 0xffffffff, 0x00000007, 0x00000000
    TEST_RR 87, rem, 0xffffffff, 0xfffffff9, 0x00000002    /* -7 % 2 = -1 */
    TEST_RR 88, rem, 0x00000007, 0x00000007, 0x00000000
    TEST_RR 89, rem, 0x00000000, 0x80000000, 0xffffffff
    TEST_RR 90, remu, 0x00000001, 0xfffffff9, 0x00000002
    TEST_RR 91, remu, 0xfffffff9, 0xfffffff9, 0x00000000
    TEST_RR 92, div, 0x00000003, 0xfffffff9, 0xfffffffe    /* -7 / -2 = 3 */
    TEST_RR 93, rem, 0x00000001, 0x00000007, 0xfffffffe    /* 7 % -2 = 1 */
    TEST_RR_SAME 94, divu, 1, 0x87654321

    /* ---- loads ---- */
    TEST_LD 100, lb,  0xffffff80, 0, bytes
    TEST_LD 101, lbu, 0x00000080, 0, bytes
    TEST_LD 102, lb,  0x0000007f, 1, bytes
    TEST_LD 103, lb,  0xffffffff, 3, bytes
    TEST_LD 104, lh,  0xffff8001, 4, bytes
    TEST_LD 105, lhu, 0x00008001, 4, bytes
    TEST_LD 106, lh,  0x00007ffe, 6, bytes
    TEST_LD 107, lw,  0xff017f80, 0, bytes
    TEST_LD 108, lw,  0x7ffe8001, -4, bytes_end
    TEST_LD 109, lhu, 0x00007ffe, -2, bytes_end
    TEST_LD 110, lbu, 0x00000001, 2, bytes

    /* ---- stores ---- */
    TEST_ST 120, sw, lw, 0xdeadbeef, 0, scratch
    TEST_ST 121, sh, lhu, 0x0000beef, 2, scratch
    TEST_ST 122, sb, lbu, 0x000000ab, 1, scratch
    la x1, scratch
    lw x14, 0(x1)
    CHECK 123, x14, 0xbeefabef          /* the narrow stores merged into the word */
    li x2, 0x12345678
    sw x2, 4(x1)
    li x2, 0xffffffff
    sb x2, 7(x1)
    lw x14, 4(x1)
    CHECK 124, x14, 0xff345678
    sh x2, 4(x1)
    lw x14, 4(x1)
    CHECK 125, x14, 0xff34ffff
    addi x5, x1, 16
    sw x2, -8(x5)                       /* negative offset */
    lw x14, 8(x1)
    CHECK 126, x14, 0xffffffff

    /* ---- branches ---- */
    TEST_BR_TAKEN 130, beq, 5, 5
    TEST_BR_NOT   131, beq, 5, 6
    TEST_BR_TAKEN 132, bne, 5, 6
    TEST_BR_NOT   133, bne, 7, 7
    TEST_BR_TAKEN 134, blt, 0xffffffff, 0
    TEST_BR_NOT   135, blt, 0, 0xffffffff
    TEST_BR_NOT   136, blt, 3, 3
    TEST_BR_TAKEN 137, bge, 0, 0xffffffff
    TEST_BR_TAKEN 138, bge, 3, 3
    TEST_BR_NOT   139, bge, 0x80000000, 0x7fffffff
    TEST_BR_TAKEN 140, bltu, 0, 0xffffffff
    TEST_BR_NOT   141, bltu, 0xffffffff, 0
    TEST_BR_TAKEN 142, bgeu, 0xffffffff, 0
    TEST_BR_TAKEN 143, bgeu, 4, 4
    TEST_BR_NOT   144, bgeu, 0, 1
    /* a backward branch loop */
    li gp, 145
    li x5, 10
    li x6, 0
3:  addi x6, x6, 2
    addi x5, x5, -1
    bnez x5, 3b
    CHECK 146, x6, 20

    /* ---- jumps ---- */
    li gp, 150
    jal x1, 4f
5:  j fail
4:  la x2, 5b
    bne x1, x2, fail
    li gp, 151
    la x5, 6f
    addi x5, x5, 1                      /* JALR clears bit 0 of the target */
    jalr x1, 0(x5)
7:  j fail
6:  la x2, 7b
    bne x1, x2, fail
    li gp, 152
    la x5, 8f - 4
    jalr x5, 4(x5)                      /* rd == rs1: target uses the old value */
9:  j fail
8:  la x2, 9b
    bne x5, x2, fail
    li gp, 153
    la x5, 10f
    jalr x0, 0(x5)                      /* plain jump, no link */
    j fail
10: li gp, 154
    call leaf                           /* a call and a return */
    CHECK 155, a0, 77

pass:
    li t5, 0
    HALT_WITH t5
fail:
    HALT_WITH gp
    j fail

leaf:
    li a0, 77
    ret

.section .data
.balign 4
bytes:
    .byte 0x80, 0x7f, 0x01, 0xff, 0x01, 0x80, 0xfe, 0x7f
bytes_end:
zero_digest:
    .word 0, 0, 0, 0, 0, 0, 0, 0
scratch:
    .word 0, 0, 0, 0
