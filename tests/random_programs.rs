//! Random RV32IM programs run on the interpreter and on the JIT must end in
//! the same state: ALU and M-extension operations on edge values, loads and
//! stores of every width into a scratch area, forward branches, counted
//! backward loops (with branches inside), direct and indirect calls and returns, and ECALLs into
//! the kernel (INPUT, SYS_CYCLE_COUNT, SYS_WRITE). The cycle model runs with
//! small segments (po2 13 to 15), so that segments split inside translated
//! blocks, and its segments and cycles must agree too.
//!
//! The same programs also run on the reference executor (risc0-circuit-rv32im)
//! against zkjit's interpreter: registers, the scratch area, output, exit,
//! and user, paging, reserved and total cycles and segments must agree.
//!
//! CI runs 2 000 programs on both engines and 200 on the reference, from a
//! fixed seed. For a long run:
//! `ZKJIT_RANDOM_PROGRAMS=100000 ZKJIT_REFERENCE_PROGRAMS=100000 cargo test
//! --release --test random_programs` (`ZKJIT_RANDOM_SEED` picks another seed).

mod common;

use std::collections::BTreeMap;

use common::asm::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};
use zkjit::cycle_model::{CycleModel, CycleSummary};
use zkjit::host::HostIo;
use zkjit::interpreter::Interpreter;
use zkjit::jit::{JitEngine, JitOptions, JitStats};
use zkjit::loader::{ElfImage, ElfRole, LoadSegment};
use zkjit::platform::{MACHINE_REGS_ADDR, USER_REGS_ADDR};
use zkjit::{Machine, Program, Stop, KERNEL_ELF};

const CODE: u32 = 0x0020_0800;
const SCRATCH: u32 = 0x0030_0000;
const SCRATCH_BYTES: u32 = 4096;
const NAMES: u32 = 0x0030_2000;
const CYCLE_COUNT_NAME: &[u8] = b"risc0_zkvm_platform::syscall::nr::SYS_CYCLE_COUNT\0";
const WRITE_NAME: &[u8] = b"risc0_zkvm_platform::syscall::nr::SYS_WRITE\0";
const WRITE_NAME_ADDR: u32 = NAMES + 64;
const MAX_CYCLES: u64 = 2_000_000;

/// Registers random instructions may write: all but ra (calls), s0 (the
/// scratch base) and s1 (the loop counter).
const POOL: &[u32] = &[
    2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
    29, 30, 31,
];
const SCRATCH_BASE: u32 = 8;
const COUNTER: u32 = 9;
const RA: u32 = 1;

/// Values that exercise overflow, sign and division edge cases.
const EDGE_VALUES: &[u32] = &[
    0,
    1,
    2,
    31,
    32,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0xffff_fffe,
    0x8000_0001,
    0x1234_5678,
];

#[derive(Clone, Debug)]
enum Item {
    /// (funct7, funct3) of an OP instruction.
    Alu {
        f7: u32,
        f3: u32,
        rd: u32,
        rs1: u32,
        rs2: u32,
    },
    AluImm {
        f3: u32,
        rd: u32,
        rs1: u32,
        imm: i32,
    },
    Lui {
        rd: u32,
        upper: u32,
    },
    Auipc {
        rd: u32,
        upper: u32,
    },
    LoadConst {
        rd: u32,
        value: u32,
    },
    Load {
        f3: u32,
        rd: u32,
        offset: i32,
    },
    Store {
        f3: u32,
        rs2: u32,
        offset: i32,
    },
    SkipIf {
        f3: u32,
        rs1: u32,
        rs2: u32,
        body: Vec<Item>,
    },
    Loop {
        count: u32,
        body: Vec<Item>,
    },
    Call {
        function: usize,
        indirect: bool,
    },
    Input {
        index: u32,
    },
    CycleCount,
    Write {
        offset: u32,
        len: u32,
    },
}

const OP_CODES: &[(u32, u32)] = &[
    (0, 0),
    (0x20, 0),
    (0, 1),
    (0, 2),
    (0, 3),
    (0, 4),
    (0, 5),
    (0x20, 5),
    (0, 6),
    (0, 7),
    (1, 0),
    (1, 1),
    (1, 2),
    (1, 3),
    (1, 4),
    (1, 5),
    (1, 6),
    (1, 7),
];

fn reg() -> impl Strategy<Value = u32> {
    prop_oneof![8 => prop::sample::select(POOL), 1 => Just(0)]
}

fn imm12() -> impl Strategy<Value = i32> {
    prop_oneof![3 => -2048..2048i32, 1 => prop::sample::select(&[-2048, -1, 0, 1, 31, 2047][..])]
}

/// A load or store offset from the scratch base: aligned for the width,
/// except now and then.
fn offset(width: u32) -> impl Strategy<Value = i32> {
    prop_oneof![
        49 => (0..(2048 / width)).prop_map(move |k| (k * width) as i32),
        1 => 0..2048i32,
    ]
}

fn straight_item() -> impl Strategy<Value = Item> {
    prop_oneof![
        6 => (prop::sample::select(OP_CODES), reg(), reg(), reg())
            .prop_map(|((f7, f3), rd, rs1, rs2)| Item::Alu { f7, f3, rd, rs1, rs2 }),
        4 => (prop::sample::select(&[0u32, 2, 3, 4, 6, 7][..]), reg(), reg(), imm12())
            .prop_map(|(f3, rd, rs1, imm)| Item::AluImm { f3, rd, rs1, imm }),
        2 => (prop::sample::select(&[(1u32, 0i32), (5, 0), (5, 0x400)][..]), reg(), reg(), 0..32i32)
            .prop_map(|((f3, high), rd, rs1, shamt)| Item::AluImm { f3, rd, rs1, imm: high | shamt }),
        1 => (reg(), 0..0x10_0000u32).prop_map(|(rd, upper)| Item::Lui { rd, upper }),
        1 => (reg(), 0..0x10_0000u32).prop_map(|(rd, upper)| Item::Auipc { rd, upper }),
        3 => (reg(), prop_oneof![prop::sample::select(EDGE_VALUES), any::<u32>()])
            .prop_map(|(rd, value)| Item::LoadConst { rd, value }),
        3 => (prop::sample::select(&[0u32, 1, 2, 4, 5][..]), reg())
            .prop_flat_map(|(f3, rd)| offset(1 << (f3 & 3)).prop_map(move |offset| Item::Load { f3, rd, offset })),
        3 => (prop::sample::select(&[0u32, 1, 2][..]), reg())
            .prop_flat_map(|(f3, rs2)| offset(1 << f3).prop_map(move |offset| Item::Store { f3, rs2, offset })),
    ]
}

/// A loop's body: straight code with forward branches inside, so that the
/// loop spans several blocks.
fn loop_body() -> impl Strategy<Value = Vec<Item>> {
    let item = prop_oneof![
        4 => straight_item(),
        1 => (
            prop::sample::select(&[0u32, 1, 4, 5, 6, 7][..]),
            reg(),
            reg(),
            prop::collection::vec(straight_item(), 1..4)
        )
            .prop_map(|(f3, rs1, rs2, body)| Item::SkipIf { f3, rs1, rs2, body }),
    ];
    prop::collection::vec(item, 1..8)
}

fn item(functions: usize) -> impl Strategy<Value = Item> {
    let body = || prop::collection::vec(straight_item(), 1..8);
    prop_oneof![
        20 => straight_item(),
        2 => (prop::sample::select(&[0u32, 1, 4, 5, 6, 7][..]), reg(), reg(), body())
            .prop_map(|(f3, rs1, rs2, body)| Item::SkipIf { f3, rs1, rs2, body }),
        2 => (1..12u32, loop_body()).prop_map(|(count, body)| Item::Loop { count, body }),
        2 => (0..functions, any::<bool>()).prop_map(|(function, indirect)| Item::Call { function, indirect }),
        1 => (0..8u32).prop_map(|index| Item::Input { index }),
        1 => Just(Item::CycleCount),
        1 => (0..256u32, 0..48u32).prop_map(|(offset, len)| Item::Write { offset, len }),
    ]
}

#[derive(Clone, Debug)]
struct RandomProgram {
    main: Vec<Item>,
    functions: Vec<Vec<Item>>,
    scratch: Vec<u8>,
    jit_threshold: u32,
    /// Segment size of the cycle model: small, so that runs split.
    po2: u32,
}

fn random_program() -> impl Strategy<Value = RandomProgram> {
    (1..4usize).prop_flat_map(|functions| {
        (
            prop::collection::vec(item(functions), 1..60),
            prop::collection::vec(prop::collection::vec(straight_item(), 0..10), functions),
            prop::collection::vec(any::<u8>(), SCRATCH_BYTES as usize),
            1..4u32,
            13..16u32,
        )
            .prop_map(
                |(main, functions, scratch, jit_threshold, po2)| RandomProgram {
                    main,
                    functions,
                    scratch,
                    jit_threshold,
                    po2,
                },
            )
    })
}

/// `li rd, value` as LUI + ADDI.
fn load_const(out: &mut Vec<u32>, rd: u32, value: u32) {
    let low = ((value & 0xfff) as i32) << 20 >> 20;
    let upper = value.wrapping_sub(low as u32) >> 12;
    out.push(lui(rd, upper));
    out.push(addi(rd, rd, low));
}

/// Assembles items at `out`'s end (`base` is the address of `out[0]`).
fn emit(out: &mut Vec<u32>, base: u32, items: &[Item], functions: &[u32]) {
    for item in items {
        match item {
            Item::Alu {
                f7,
                f3,
                rd,
                rs1,
                rs2,
            } => out.push(r(*f7, *rs2, *rs1, *f3, *rd, 0x33)),
            Item::AluImm { f3, rd, rs1, imm } => out.push(i(*imm, *rs1, *f3, *rd, 0x13)),
            Item::Lui { rd, upper } => out.push(lui(*rd, *upper)),
            Item::Auipc { rd, upper } => out.push(auipc(*rd, *upper)),
            Item::LoadConst { rd, value } => load_const(out, *rd, *value),
            Item::Load { f3, rd, offset } => out.push(i(*offset, SCRATCH_BASE, *f3, *rd, 0x03)),
            Item::Store { f3, rs2, offset } => out.push(s(*offset, *rs2, SCRATCH_BASE, *f3)),
            Item::SkipIf { f3, rs1, rs2, body } => {
                let at = out.len();
                out.push(0);
                emit(out, base, body, functions);
                let distance = 4 * (out.len() - at) as i32;
                out[at] = b(distance, *rs2, *rs1, *f3);
            }
            Item::Loop { count, body } => {
                out.push(addi(COUNTER, 0, *count as i32));
                let top = out.len();
                emit(out, base, body, functions);
                out.push(addi(COUNTER, COUNTER, -1));
                let distance = -4 * (out.len() - top) as i32;
                out.push(b(distance, 0, COUNTER, 1)); // bne s1, zero, top
            }
            Item::Call { function, indirect } => {
                let target = functions[*function];
                let here = base + 4 * out.len() as u32;
                if *indirect {
                    // auipc t1, hi; jalr ra, lo(t1)
                    let delta = target.wrapping_sub(here);
                    let low = ((delta & 0xfff) as i32) << 20 >> 20;
                    out.push(auipc(6, delta.wrapping_sub(low as u32) >> 12));
                    out.push(jalr(RA, 6, low));
                } else {
                    out.push(jal(RA, target.wrapping_sub(here) as i32));
                }
            }
            Item::Input { index } => {
                out.push(addi(5, 0, 1));
                out.push(addi(10, 0, *index as i32));
                out.push(ECALL);
            }
            Item::CycleCount => {
                out.push(addi(5, 0, 2));
                out.push(addi(31, 0, 3));
                load_const(out, 12, NAMES);
                out.push(addi(10, 0, 0));
                out.push(addi(11, 0, 0));
                out.push(ECALL);
            }
            Item::Write { offset, len } => {
                out.push(addi(5, 0, 2));
                out.push(addi(31, 0, 16));
                load_const(out, 12, WRITE_NAME_ADDR);
                out.push(addi(10, 0, 0));
                out.push(addi(11, 0, 0));
                out.push(addi(13, 0, 1));
                out.push(addi(14, SCRATCH_BASE, *offset as i32));
                out.push(addi(15, 0, *len as i32));
                out.push(ECALL);
            }
        }
    }
}

fn assemble(p: &RandomProgram) -> Vec<u32> {
    // First pass for the size of the main code, then place the functions after it.
    let placeholder = vec![CODE; p.functions.len()];
    let mut main = Vec::new();
    load_const(&mut main, SCRATCH_BASE, SCRATCH);
    emit(&mut main, CODE, &p.main, &placeholder);
    let halt_len = 5;
    let mut addr = CODE + 4 * (main.len() + halt_len) as u32;
    let mut starts = Vec::new();
    let mut bodies = Vec::new();
    for body in &p.functions {
        starts.push(addr);
        let mut code = Vec::new();
        emit(&mut code, addr, body, &starts);
        code.push(jalr(0, RA, 0));
        addr += 4 * code.len() as u32;
        bodies.push(code);
    }
    let mut code = Vec::new();
    load_const(&mut code, SCRATCH_BASE, SCRATCH);
    emit(&mut code, CODE, &p.main, &starts);
    // HALT(terminate, exit 0) with the scratch area as output digest
    code.push(addi(5, 0, 0));
    code.push(addi(10, 0, 0));
    code.push(addi(11, SCRATCH_BASE, 0));
    code.push(ECALL);
    code.push(jal(0, 0));
    assert_eq!(code.len(), main.len() + halt_len);
    code.extend(bodies.into_iter().flatten());
    code
}

fn program(p: &RandomProgram) -> Program {
    let code: Vec<u8> = assemble(p).iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut names = CYCLE_COUNT_NAME.to_vec();
    names.resize(64, 0);
    names.extend_from_slice(WRITE_NAME);
    let user = ElfImage {
        entry: CODE,
        segments: vec![
            LoadSegment {
                vaddr: CODE,
                mem_size: code.len() as u32,
                data: code,
                executable: true,
            },
            LoadSegment {
                vaddr: SCRATCH,
                mem_size: SCRATCH_BYTES,
                data: p.scratch.clone(),
                executable: false,
            },
            LoadSegment {
                vaddr: NAMES,
                mem_size: names.len() as u32,
                data: names,
                executable: false,
            },
        ],
        symbols: Vec::new(),
    };
    let kernel = ElfImage::parse(KERNEL_ELF, ElfRole::Kernel).expect("kernel");
    Program::WithKernel { user, kernel }
}

/// Everything the two engines must agree on at the end.
#[derive(Debug, PartialEq)]
struct EndState {
    result: Result<(), Stop>,
    pc: u32,
    user_cycles: u64,
    cycles: Option<CycleSummary>,
    registers: Vec<u32>,
    scratch: Vec<u8>,
    stdout: Vec<u8>,
}

/// Runs on the interpreter, or on the JIT with the given threshold (then
/// also returning what the JIT did).
fn run(program: &Program, po2: u32, jit_threshold: Option<u32>) -> (EndState, Option<JitStats>) {
    let mut m = Machine::new(HostIo::captured()).expect("machine");
    m.set_cycle_model(CycleModel::new(po2));
    program.write_to(&mut m.mem);
    let mut stats = None;
    let result = m.resume().and_then(|()| match jit_threshold {
        None => Interpreter::new().run(&mut m, Some(MAX_CYCLES)),
        Some(threshold) => {
            let options = JitOptions {
                threshold,
                ..JitOptions::default()
            };
            let mut engine = JitEngine::new(options);
            let result = engine.run(&mut m, Some(MAX_CYCLES));
            stats = Some(engine.stats);
            result
        }
    });
    let registers = (0..32)
        .flat_map(|i| [USER_REGS_ADDR + 4 * i, MACHINE_REGS_ADDR + 4 * i])
        .map(|addr| m.mem.load_u32(addr))
        .collect();
    let end = EndState {
        result,
        pc: m.pc,
        user_cycles: m.user_cycles,
        cycles: m.cycle_model.summary(m.user_cycles),
        registers,
        scratch: m.mem.slice(SCRATCH, SCRATCH_BYTES).unwrap().to_vec(),
        stdout: m.io.stdout.captured().to_vec(),
    };
    (end, stats)
}

/// The reference executor's end of `p`, under zkjit's kernel, compared with
/// the interpreter's `ours`.
fn check_against_reference(p: &RandomProgram, ours: &EndState) -> Result<(), TestCaseError> {
    let Program::WithKernel { user, .. } = program(p) else {
        unreachable!("random programs run under the kernel")
    };
    let mut words = BTreeMap::new();
    for segment in &user.segments {
        for k in 0..segment.mem_size.div_ceil(4) {
            let at = 4 * k as usize;
            let mut bytes = [0u8; 4];
            for (i, byte) in bytes.iter_mut().enumerate() {
                *byte = segment.data.get(at + i).copied().unwrap_or(0);
            }
            words.insert(segment.vaddr + 4 * k, u32::from_le_bytes(bytes));
        }
    }
    let user = risc0_binfmt::Program::new_from_entry_and_image(CODE, words);
    let kernel = risc0_binfmt::Program::load_elf(KERNEL_ELF, u32::MAX).expect("the kernel");
    let image = risc0_binfmt::MemoryImage::with_kernel(user, kernel);
    let reference =
        common::oracle::run_oracle_image(image, HostIo::captured(), p.po2, Some(MAX_CYCLES));
    let mut reference = match (reference, &ours.result) {
        (Ok(reference), _) => reference,
        // A program that faults stops both (the reference refuses the run).
        (Err(_), Err(Stop::Fault(_))) => return Ok(()),
        (Err(e), result) => {
            return Err(TestCaseError::fail(format!(
                "only the reference failed ({e:#}); zkjit: {result:?}"
            )))
        }
    };
    let cycles = ours.cycles.as_ref().expect("cycle model on");
    prop_assert!(
        ours.result.is_ok() || matches!(ours.result, Err(Stop::CycleLimit { .. })),
        "only zkjit stopped: {:?}",
        ours.result
    );
    prop_assert_eq!(reference.user_cycles, ours.user_cycles);
    prop_assert_eq!(reference.segments, cycles.segments);
    prop_assert_eq!(reference.paging_cycles, cycles.paging_cycles);
    prop_assert_eq!(reference.reserved_cycles, cycles.reserved_cycles);
    prop_assert_eq!(reference.total_cycles, cycles.total_cycles);
    prop_assert_eq!(&reference.stdout, &ours.stdout);
    let registers: Vec<u32> = (0..32)
        .flat_map(|i| [USER_REGS_ADDR + 4 * i, MACHINE_REGS_ADDR + 4 * i])
        .map(|addr| reference.word(addr))
        .collect();
    prop_assert_eq!(&registers, &ours.registers);
    let scratch: Vec<u8> = (0..SCRATCH_BYTES / 4)
        .flat_map(|k| reference.word(SCRATCH + 4 * k).to_le_bytes())
        .collect();
    prop_assert_eq!(&scratch, &ours.scratch);
    Ok(())
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: env("ZKJIT_RANDOM_PROGRAMS", 2000) as u32,
        rng_seed: RngSeed::Fixed(env("ZKJIT_RANDOM_SEED", 0x2026_1125)),
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn jit_and_interpreter_end_in_the_same_state(p in random_program()) {
        let program = program(&p);
        let (interp, _) = run(&program, p.po2, None);
        let (jit, _) = run(&program, p.po2, Some(p.jit_threshold));
        prop_assert_eq!(jit, interp);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: env("ZKJIT_REFERENCE_PROGRAMS", 200) as u32,
        ..config()
    })]

    #[test]
    fn zkjit_and_the_reference_end_in_the_same_state(p in random_program()) {
        let program = program(&p);
        let (interp, _) = run(&program, p.po2, None);
        check_against_reference(&p, &interp)?;
    }
}

#[test]
fn random_programs_do_run_to_their_halt() {
    // A guard against a generator that only produces programs that fault at once.
    let mut runner = proptest::test_runner::TestRunner::new(config());
    let mut halted = 0;
    let mut split = 0;
    let mut loops = 0;
    let mut traces = 0;
    for _ in 0..100 {
        let p = random_program().new_tree(&mut runner).unwrap().current();
        let (end, _) = run(&program(&p), p.po2, None);
        let (_, jit) = run(&program(&p), p.po2, Some(p.jit_threshold));
        if jit.as_ref().is_some_and(|j| j.loops_compiled > 0) {
            loops += 1;
        }
        if jit.is_some_and(|j| j.traces_compiled > 0) {
            traces += 1;
        }
        if end.result.is_ok() {
            halted += 1;
        }
        if end.cycles.is_some_and(|c| c.segments > 1) {
            split += 1;
        }
    }
    assert!(halted > 50, "only {halted} of 100 random programs halted");
    // And one against a po2 too large for the split rule to be exercised.
    assert!(
        split > 50,
        "only {split} of 100 random programs ran in several segments"
    );
    // And one against programs whose loops the JIT never translates whole.
    assert!(
        loops > 20,
        "only {loops} of 100 random programs had loops translated"
    );
    // And traces of blocks.
    assert!(
        traces > 20,
        "only {traces} of 100 random programs had traces translated"
    );
}
