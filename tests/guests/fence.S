/* A bare program that executes FENCE (a no-op here; the 4.0.5 reference
 * rejects it) and halts with exit code 7. */
.section .text
.global _start
_start:
    fence
    fence rw, rw
    li a0, 7 << 16
    li a1, 0
    li a7, 0
    ecall
