//! zkjit's fuzz targets, shared by cargo-fuzz (`fuzz_targets/`) and the
//! stable smoke test (`tests/fuzz_smoke.rs`). Each takes arbitrary bytes
//! and panics only on a bug: a loader or the decoder that panics, or a run
//! on which the JIT and the interpreter disagree.

#![allow(dead_code)]

use zkjit::loader::{ElfImage, ElfRole, LoadSegment};
use zkjit::{Config, Engine, Input, Program, Session, KERNEL_ELF};

/// The ELF and R0BF loaders: any bytes load or are refused with an error,
/// as a user program, a bare program and a kernel.
pub fn loaders(data: &[u8]) {
    let _ = Program::from_bytes(data, false, KERNEL_ELF, true);
    let _ = Program::from_bytes(data, true, KERNEL_ELF, true);
    let _ = Program::from_bytes(data, false, data, true);
    let _ = ElfImage::parse(data, ElfRole::Kernel);
}

/// The decoder: every word decodes, and disassembles.
pub fn decoder(data: &[u8]) {
    for word in data.chunks_exact(4) {
        let word = u32::from_le_bytes(word.try_into().expect("4 bytes"));
        let insn = zkjit::decoder::decode(word);
        let _ = format!("{insn:?}");
    }
}

/// Where a run's code goes, and its data.
const CODE: u32 = 0x0001_0000;
const DATA: u32 = 0x0002_0000;
/// Cycles a run may take.
const MAX_CYCLES: u64 = 20_000;

/// `li rd, value` as LUI and ADDI.
fn li(rd: u32, value: u32) -> [u32; 2] {
    let hi = value.wrapping_add(0x800) >> 12;
    let lo = value & 0xfff;
    [
        (hi << 12) | (rd << 7) | 0x37,
        (lo << 20) | (rd << 15) | (rd << 7) | 0x13,
    ]
}

/// A whole run of a program made of `data`, under zkjit's kernel, on the
/// interpreter and on the JIT (translating at the second entry): the
/// outcome, cycles, output and journal must agree. The first 32 bytes set
/// an ECALL's registers (t0 the call, t6 a software syscall's number,
/// a0..a5 its arguments, pointers among them into the data) before the
/// rest runs as code; the data page holds the bytes too.
pub fn runs(data: &[u8]) {
    let word = |i: usize| {
        let mut bytes = [0u8; 4];
        for (k, byte) in bytes.iter_mut().enumerate() {
            *byte = data.get(4 * i + k).copied().unwrap_or(0);
        }
        u32::from_le_bytes(bytes)
    };
    // t0 (5): a user ECALL 0..7; t6 (31): a software syscall 0..19; a0..a5.
    let mut setup = Vec::new();
    setup.extend(li(5, word(0) % 8));
    setup.extend(li(31, word(1) % 20));
    for (reg, i) in (10..16).zip(2..) {
        // Half the arguments point into the data page.
        let value = word(i);
        let value = if value & 1 == 0 {
            DATA + (value >> 1) % 4096
        } else {
            value
        };
        setup.extend(li(reg, value));
    }
    setup.push(0x0000_0073); // ecall
    let rest = data.get(32..).unwrap_or_default();
    let mut code: Vec<u8> = setup.iter().flat_map(|w| w.to_le_bytes()).collect();
    code.extend(rest.iter().take(4 * 512));
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
                vaddr: DATA,
                mem_size: 8192,
                data: data.iter().take(8192).copied().collect(),
                executable: false,
            },
        ],
        symbols: Vec::new(),
    };
    let kernel = ElfImage::parse(KERNEL_ELF, ElfRole::Kernel).expect("the kernel");
    let program = Program::WithKernel { user, kernel };
    let run = |engine| {
        let config = Config {
            engine,
            max_cycles: Some(MAX_CYCLES),
            input: Input::Bytes(data.iter().rev().take(64).copied().collect()),
            capture_output: true,
            random_seed: Some(1),
            jit_threshold: Some(2),
            po2: Some(14),
            ..Config::default()
        };
        Session::new(&program, config).expect("a session").run()
    };
    let (interp, jit) = (run(Engine::Interp), run(Engine::Jit));
    assert_eq!(jit.outcome, interp.outcome, "outcome");
    assert_eq!(jit.error, interp.error, "error");
    assert_eq!(jit.user_cycles, interp.user_cycles, "user cycles");
    assert_eq!(jit.cycles, interp.cycles, "cycles");
    assert_eq!(jit.stdout, interp.stdout, "stdout");
    assert_eq!(jit.stderr, interp.stderr, "stderr");
    assert_eq!(jit.journal, interp.journal, "journal");
}
