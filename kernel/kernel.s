# zkjit kernel: the machine-mode half of a zkVM program.
#
# Implements the user ABI of the RISC Zero zkVM (request number in user t0):
#   0 HALT, 1 INPUT, 2 SOFTWARE, 3 SHA, 4 BIGINT, 6 BIGINT2, 7 POSEIDON2.
# Accelerators are passed through to the host's calls. The v1 BIGINT call
# (4) is not implemented: it ends the run with "not supported".
# Every user trap lands in _trap_cause_N, which reports cause, pc and the
# faulting address on the host's WRITE channel and stops the machine.
#
# Register conventions inside the kernel:
#   tp = USER_REGS_ADDR (user registers are memory words at tp + 4*i)
#   sp = kernel stack

.equ USER_START_ADDR,    0x00010000
.equ USER_END_ADDR,      0xc0000000
.equ STACK_TOP,          0xfff00000
.equ USER_REGS_ADDR,     0xffff0080
.equ MEPC_ADDR,          0xffff0200
.equ GLOBAL_OUTPUT_ADDR, 0xffff0240
.equ GLOBAL_INPUT_ADDR,  0xffff0260
.equ ECALL_DISPATCH_ADDR, 0xffff1000
.equ TRAP_DISPATCH_ADDR, 0xffff2000

.equ HOST_TERMINATE, 0
.equ HOST_READ,      1
.equ HOST_WRITE,     2
.equ HOST_POSEIDON2, 3
.equ HOST_SHA2,      4
.equ HOST_BIGINT,    5

.equ MAX_IO_BYTES,   1024
.equ MAX_SHA_COUNT,  10

# software syscall numbers (risc0_zkvm_platform::syscall::Syscall)
.equ SYS_LOG,    8
.equ SYS_PANIC,  9
.equ SYS_RANDOM, 11
.equ SYS_READ,   12
.equ SYS_WRITE,  16
.equ SYS_MAX,    17

# byte offsets of user registers from tp
.equ U_SP, 2*4
.equ U_T0, 5*4
.equ U_A0, 10*4
.equ U_A1, 11*4
.equ U_A2, 12*4
.equ U_A3, 13*4
.equ U_A4, 14*4
.equ U_T1, 6*4
.equ U_T2, 7*4
.equ U_A5, 15*4
.equ U_A6, 16*4
.equ U_T3, 28*4
.equ U_T6, 31*4

.section .text
.global _start
_start:
    li sp, STACK_TOP
    li tp, USER_REGS_ADDR

    # user ECALL enters the kernel at _ecall_dispatch
    li t0, ECALL_DISPATCH_ADDR
    la t1, _ecall_dispatch
    sw t1, 0(t0)

    # one trap handler per cause, 0..9 (8 is unused by the machine)
    li t0, TRAP_DISPATCH_ADDR
    la t1, _trap_cause_0
    li t2, 10
1:  sw t1, 0(t0)
    addi t0, t0, 4
    addi t1, t1, 8
    addi t2, t2, -1
    bnez t2, 1b

    # MRET resumes at MEPC + 4, so point MEPC one word before the entry
    li a0, USER_START_ADDR
    lw a1, 0(a0)
    addi a1, a1, -4
    li a0, MEPC_ADDR
    sw a1, 0(a0)
    mret

# Trap entry stubs: each is exactly two instructions (8 bytes) long.
_trap_cause_0: li a0, 0
    j _trap
_trap_cause_1: li a0, 1
    j _trap
_trap_cause_2: li a0, 2
    j _trap
_trap_cause_3: li a0, 3
    j _trap
_trap_cause_4: li a0, 4
    j _trap
_trap_cause_5: li a0, 5
    j _trap
_trap_cause_6: li a0, 6
    j _trap
_trap_cause_7: li a0, 7
    j _trap
_trap_cause_8: li a0, 8
    j _trap
_trap_cause_9: li a0, 9
    j _trap

# a0 = cause. Report "user trap: cause N at pc 0x........ address 0x........"
# and stop the machine with an illegal instruction in machine mode.
_trap:
    mv s0, a0
    li t0, MEPC_ADDR
    lw s1, 0(t0)                # s1 = pc of the trapping instruction
    mv s2, s1                   # s2 = faulting address (pc unless a data access)
    li t0, 4
    bltu s0, t0, 2f
    li t0, 8
    bgeu s0, t0, 2f
    # causes 4..7 are loads and stores: address = x[rs1] + imm
    lw t0, 0(s1)                # the instruction word
    srli t1, t0, 15
    andi t1, t1, 31             # rs1
    slli t1, t1, 2
    add t1, t1, tp
    lw t1, 0(t1)                # user x[rs1]
    andi t2, t0, 0x20           # opcode bit 5: store
    srai t3, t0, 20             # I-immediate
    beqz t2, 1f
    srai t3, t0, 25             # S-immediate: imm[11:5] | rd field
    slli t3, t3, 5
    srli t4, t0, 7
    andi t4, t4, 31
    or t3, t3, t4
1:  add s2, t1, t3
2:
    la a0, msg_trap
    call _puts
    mv a0, s0
    call _put_dec
    la a0, msg_pc
    call _puts
    mv a0, s1
    call _put_hex
    la a0, msg_addr
    call _puts
    mv a0, s2
    call _put_hex
    la a0, msg_nl
    call _puts
    unimp

# Write the NUL-terminated string at a0 through the host WRITE call (fd 2).
_puts:
    mv t0, a0
    mv t1, a0
1:  lbu t2, 0(t1)
    beqz t2, 2f
    addi t1, t1, 1
    j 1b
2:  sub a2, t1, t0
    mv a1, t0
    li a0, 2
    li a7, HOST_WRITE
    ecall
    ret

# Write a0 as "0x" and 8 hex digits.
_put_hex:
    la t0, numbuf
    li t1, '0'
    sb t1, 0(t0)
    li t1, 'x'
    sb t1, 1(t0)
    addi t0, t0, 9
    li t2, 8
1:  andi t1, a0, 15
    li t3, 10
    bltu t1, t3, 2f
    addi t1, t1, 'a' - '0' - 10
2:  addi t1, t1, '0'
    sb t1, 0(t0)
    srli a0, a0, 4
    addi t0, t0, -1
    addi t2, t2, -1
    bnez t2, 1b
    la t0, numbuf
    sb zero, 10(t0)
    mv a0, t0
    j _puts

# Write a0 (< 100) in decimal.
_put_dec:
    la t0, numbuf
    li t1, 10
    bltu a0, t1, 1f
    divu t2, a0, t1
    addi t2, t2, '0'
    sb t2, 0(t0)
    addi t0, t0, 1
    remu a0, a0, t1
1:  addi a0, a0, '0'
    sb a0, 0(t0)
    sb zero, 1(t0)
    la a0, numbuf
    j _puts

_ecall_table:
    j _ecall_halt
    j _ecall_input
    j _ecall_software
    j _ecall_sha
    j _ecall_bigint
    j _ecall_unknown           # 5: reserved for user ecalls
    j _ecall_bigint2
    j _ecall_poseidon2

_ecall_dispatch:
    lw a0, U_T0(tp)
    li t0, 8
    bgeu a0, t0, _ecall_unknown
    slli a0, a0, 2
    la t0, _ecall_table
    add t0, t0, a0
    jr t0

_ecall_unknown:
    la a0, msg_unknown_ecall
    call _puts
    lw a0, U_T0(tp)
    call _put_hex
    la a0, msg_nl
    call _puts
    unimp

# HALT: a0 = halt type | exit code << 8, a1 = pointer to the output digest.
_ecall_halt:
    lw t0, U_A1(tp)
    li t1, GLOBAL_OUTPUT_ADDR
    li t2, 8
1:  lw t3, 0(t0)
    sw t3, 0(t1)
    addi t0, t0, 4
    addi t1, t1, 4
    addi t2, t2, -1
    bnez t2, 1b
    # the host wants exit code << 16 | halt type
    lw a0, U_A0(tp)
    srli a1, a0, 8
    andi a1, a1, 0xff
    slli a1, a1, 16
    andi a0, a0, 0xff
    or a0, a0, a1
    andi s0, a0, 0xff
    li a1, 0
    li a7, HOST_TERMINATE
    ecall
    # a paused program resumes after the ECALL
    bnez s0, 2f
    unimp
2:  mret

# INPUT: return word a0 (< 8) of the input digest in a0.
_ecall_input:
    lw t0, U_A0(tp)
    li t1, 8
    bgeu t0, t1, 1f
    slli t0, t0, 2
    li t1, GLOBAL_INPUT_ADDR
    add t0, t0, t1
    lw t0, 0(t0)
    sw t0, U_A0(tp)
    mret
1:  la a0, msg_bad_input
    call _puts
    unimp

# SOFTWARE: t6 = syscall number, a2 = syscall name, a0/a1 = host-to-guest
# buffer and its length in words (bytes for SYS_READ), a3.. = arguments.
# The host is asked with READ(fd = name pointer); the two return words then
# come with READ(fd = 0) into a kernel buffer.
_ecall_software:
    lw s0, U_T6(tp)             # syscall number
    lw s1, U_A2(tp)             # name pointer (the "fd" of the first read)
    lw s2, U_A0(tp)             # host-to-guest buffer
    lw s3, U_A1(tp)             # its length
    li t0, SYS_MAX
    bgeu s0, t0, _software_unknown
    beqz s0, _software_unknown
    # the name must start in user memory (the host reads no further)
    mv a0, s1
    li a1, 1
    la a2, msg_syscall_name
    call _check_user_buffer
    li t0, SYS_LOG
    beq s0, t0, _software_no_return
    li t0, SYS_PANIC
    beq s0, t0, _software_no_return
    li t0, SYS_WRITE
    beq s0, t0, _software_no_return
    # the host-to-guest buffer must lie in user memory, before any host call
    mv a0, s2
    mv a1, s3                   # bytes for SYS_READ
    li t0, SYS_READ
    beq s0, t0, 1f
    srli t0, s3, 30
    slli a1, s3, 2
    beqz t0, 1f
    li a1, -1                   # 2^30 words or more: cannot fit
1:  mv a2, s1                   # named by the syscall's name
    call _check_user_buffer
    li t0, SYS_RANDOM
    beq s0, t0, _software_random
    li t0, SYS_READ
    beq s0, t0, _software_read

    # every other syscall: one read of at most MAX_IO_BYTES, then a0/a1
    slli a2, s3, 2
    li t0, MAX_IO_BYTES
    bleu a2, t0, 1f
    mv a2, t0
1:  mv a0, s1
    mv a1, s2
    li a7, HOST_READ
    ecall
    call _read_return_words
    sw a0, U_A0(tp)
    sw a1, U_A1(tp)
    mret

_software_no_return:
    mv a0, s1
    li a1, 0
    li a2, 0
    li a7, HOST_READ
    ecall
    mret

# SYS_RANDOM fills a0[0..a1 words] in chunks of MAX_IO_BYTES.
_software_random:
    slli s3, s3, 2              # bytes left
1:  beqz s3, 2f
    mv a2, s3
    li t0, MAX_IO_BYTES
    bleu a2, t0, 3f
    mv a2, t0
3:  sub s3, s3, a2
    mv s4, a2
    mv a0, s1
    mv a1, s2
    li a7, HOST_READ
    ecall
    add s2, s2, s4
    j 1b
2:  mret

# SYS_READ: a1 = bytes wanted, user a4 = the same. Chunks of MAX_IO_BYTES:
# whole words are read into place, the host returns the count read and the
# final partial word, whose bytes the kernel stores.
_software_read:
    lw s5, U_A4(tp)             # restored on return
    li s6, 0                    # total bytes read
1:  beqz s3, 4f
    mv s4, s3                   # chunk length
    li t0, MAX_IO_BYTES
    bleu s4, t0, 2f
    mv s4, t0
2:  sw s4, U_A4(tp)
    mv a0, s1
    mv a1, s2
    andi a2, s4, -4             # whole words of the chunk
    mv s7, a2
    li a7, HOST_READ
    ecall
    call _read_return_words     # a0 = bytes read, a1 = final word
    bgtu a0, s4, _software_bad_read
    add s6, s6, a0
    # bytes past the whole words come from the final word
    add t0, s2, s7              # destination
    sub t1, a0, s7              # how many
    blez t1, 3f
5:  sb a1, 0(t0)
    srli a1, a1, 8
    addi t0, t0, 1
    addi t1, t1, -1
    bnez t1, 5b
3:  bltu a0, s4, 4f             # short read: end of input
    add s2, s2, s4
    sub s3, s3, s4
    j 1b
4:  sw s6, U_A0(tp)
    sw s5, U_A4(tp)
    mret

_software_bad_read:
    la a0, msg_bad_read
    call _puts
    unimp

_software_unknown:
    la a0, msg_unknown_syscall
    call _puts
    mv a0, s0
    call _put_hex
    la a0, msg_nl
    call _puts
    unimp

# Returns if a1 bytes at a0 lie in user memory (or a1 is 0). Otherwise
# reports "LABEL: buffer 0x........ + 0x........ bytes is outside user
# memory" (LABEL the string at a2) and stops the machine. Every pointer a
# user passes goes through here before the host sees it.
_check_user_buffer:
    beqz a1, 1f
    li t0, USER_START_ADDR
    bltu a0, t0, _bad_user_buffer
    li t0, USER_END_ADDR
    bgeu a0, t0, _bad_user_buffer
    sub t0, t0, a0              # room left below the kernel
    bgtu a1, t0, _bad_user_buffer
1:  ret

_bad_user_buffer:
    mv s4, a0
    mv s5, a1
    mv s6, a2
    la a0, msg_kernel
    call _puts
    mv a0, s6
    call _puts
    la a0, msg_buffer
    call _puts
    mv a0, s4
    call _put_hex
    la a0, msg_plus
    call _puts
    mv a0, s5
    call _put_hex
    la a0, msg_outside
    call _puts
    unimp

# As _check_user_buffer, for a0 a word address (byte address / 4).
_check_user_words:
    srli t0, a0, 30
    bnez t0, _bad_user_buffer
    slli a0, a0, 2
    j _check_user_buffer

# READ(fd 0) of the two return words into the kernel; returns them in a0, a1.
_read_return_words:
    li a0, 0
    la a1, retbuf
    li a2, 8
    li a7, HOST_READ
    ecall
    la t0, retbuf
    lw a0, 0(t0)
    lw a1, 4(t0)
    ret

# SHA: a0 out state, a1 in state, a2/a3 the two halves of the first block,
# a4 block count. Blocks are contiguous from a2 unless a3 != a2 + 32, in
# which case the one block is copied together first.
_ecall_sha:
    lw s0, U_A0(tp)             # out state
    lw s1, U_A1(tp)             # in state
    lw s2, U_A2(tp)             # data
    lw t1, U_A3(tp)
    lw s3, U_A4(tp)             # count
    mv s5, t1
    mv a0, s0
    li a1, 32
    la a2, msg_sha_out
    call _check_user_buffer
    mv a0, s1
    li a1, 32
    la a2, msg_sha_in
    call _check_user_buffer
    # the data: count whole blocks from a2, or two halves of one block
    mv a0, s2
    srli t0, s3, 26
    slli a1, s3, 6
    beqz t0, 1f
    li a1, -1                   # 2^26 blocks or more: cannot fit
1:  la a2, msg_sha_data
    addi t0, s2, 32
    bne t0, s5, 4f
    call _check_user_buffer
    j 5f
4:  li a1, 32
    call _check_user_buffer
    mv a0, s5
    li a1, 32
    la a2, msg_sha_data
    call _check_user_buffer
5:  mv t1, s5
    addi t0, s2, 32
    beq t0, t1, 2f
    # gather the two halves into shablock
    la t2, shablock
    li t3, 8
1:  lw t4, 0(s2)
    sw t4, 0(t2)
    lw t4, 0(t1)
    sw t4, 32(t2)
    addi s2, s2, 4
    addi t1, t1, 4
    addi t2, t2, 4
    addi t3, t3, -1
    bnez t3, 1b
    la s2, shablock
2:  mv a3, s3
    li t0, MAX_SHA_COUNT
    bleu a3, t0, 3f
    mv a3, t0
3:  sub s3, s3, a3
    slli s4, a3, 6
    mv a0, s1
    mv a1, s0
    mv a2, s2
    la a4, sha_k
    li a7, HOST_SHA2
    ecall
    add s2, s2, s4
    mv s1, s0
    bnez s3, 2b
    mret

# The v1 BIGINT call (a 256-bit modular multiply) would need a bigint
# program of the kernel's own: not implemented, the run stops here.
_ecall_bigint:
    la a0, msg_bigint_v1
    call _puts
    unimp

# BIGINT2: the host runs the bigint program of the blob at user a0, whose
# arenas are registers: the user's sp and a1..a6, in user mode (t0 = 0).
_ecall_bigint2:
    mv s0, sp
    lw sp, U_SP(tp)
    li t0, 0
    lw t1, U_T1(tp)
    lw t2, U_T2(tp)
    lw t3, U_T3(tp)
    lw a0, U_A0(tp)
    lw a1, U_A1(tp)
    lw a2, U_A2(tp)
    lw a3, U_A3(tp)
    lw a4, U_A4(tp)
    lw a5, U_A5(tp)
    lw a6, U_A6(tp)
    li a7, HOST_BIGINT
    ecall
    mv sp, s0
    mret

# POSEIDON2: a0 state (0: none), a1 input, a2 output, all word addresses;
# a3 the block count (low 16 bits) and flags (bit 31: blocks of 16 words,
# else 8). Each buffer must lie in user memory.
_ecall_poseidon2:
    lw a0, U_A0(tp)
    beqz a0, 1f
    li a1, 32
    la a2, msg_p2_state
    call _check_user_words
1:  lw a3, U_A3(tp)
    li t0, 0xffff
    and a1, a3, t0
    slli a1, a1, 5              # 32 bytes a block
    bgez a3, 2f
    slli a1, a1, 1              # 64 with 16-word blocks
2:  lw a0, U_A1(tp)
    la a2, msg_p2_input
    call _check_user_words
    lw a0, U_A2(tp)
    li a1, 32
    la a2, msg_p2_output
    call _check_user_words
    lw a0, U_A0(tp)
    lw a1, U_A1(tp)
    lw a2, U_A2(tp)
    lw a3, U_A3(tp)
    li a7, HOST_POSEIDON2
    ecall
    mret

.section .rodata
msg_trap:            .asciz "zkjit kernel: user trap, cause "
msg_pc:              .asciz " at pc "
msg_addr:            .asciz ", address "
msg_nl:              .asciz "\n"
msg_unknown_ecall:   .asciz "zkjit kernel: unknown ecall request t0 = "
msg_unknown_syscall: .asciz "zkjit kernel: unknown software syscall number "
msg_bad_input:       .asciz "zkjit kernel: INPUT index out of range\n"
msg_bad_read:        .asciz "zkjit kernel: host returned more bytes than asked\n"
msg_kernel:          .asciz "zkjit kernel: "
msg_syscall_name:    .asciz "software syscall name"
msg_sha_out:         .asciz "SHA output state"
msg_sha_in:          .asciz "SHA input state"
msg_sha_data:        .asciz "SHA data"
msg_p2_state:        .asciz "POSEIDON2 state"
msg_p2_input:        .asciz "POSEIDON2 input"
msg_p2_output:       .asciz "POSEIDON2 output"
msg_buffer:          .asciz ": buffer "
msg_plus:            .asciz " + "
msg_outside:         .asciz " bytes is outside user memory\n"
msg_bigint_v1:       .asciz "zkjit kernel: the v1 BIGINT call is not supported (risc0-bigint2 calls are)\n"

.balign 4
sha_k:
    .word 0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5
    .word 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174
    .word 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da
    .word 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967
    .word 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85
    .word 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070
    .word 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3
    .word 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2

.section .bss
.balign 4
retbuf:   .space 8
shablock: .space 64
numbuf:   .space 12
