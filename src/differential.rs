//! Differential mode: the JIT and the interpreter run the same program in
//! lockstep, each on its own machine. After every unit of JIT execution (one
//! translated block, or one interpreted block) the interpreter takes the same
//! number of steps, and pc, mode, cycle count, segment and paging cycles,
//! both register files, MEPC and every page either machine wrote must
//! agree. The first divergence stops the run with a report of the block,
//! its instructions and both states.

use std::fmt::Write as _;

use crate::decoder::decode;
use crate::interpreter::Interpreter;
use crate::jit::JitEngine;
use crate::machine::Machine;
use crate::memory::{code_page, CODE_PAGE_BYTES};
use crate::mode::Mode;
use crate::platform::{reg::NAMES, MACHINE_REGS_ADDR, MEPC_ADDR, USER_REGS_ADDR, X0_SINK_OFFSET};
use crate::stop::Stop;

/// Interpreter steps allowed to reproduce a stop the JIT reported.
const MAX_CATCH_UP_STEPS: u64 = 1 << 20;

/// Runs `jit_machine` on `jit` and `reference` on the interpreter in lockstep.
pub fn run(
    jit: &mut JitEngine,
    jit_machine: &mut Machine,
    reference: &mut Machine,
    limit: u64,
) -> Result<(), Stop> {
    jit_machine.mem.track_written_pages();
    reference.mem.track_written_pages();
    let mut interpreter = Interpreter::new();
    loop {
        if jit_machine.halt.is_some() {
            compare(jit_machine, reference, None)?;
            return match reference.halt == jit_machine.halt {
                true => Ok(()),
                false => Err(diverged(jit_machine, reference, None, "the halts differ")),
            };
        }
        let unit_pc = jit_machine.pc;
        let unit_mode = jit_machine.mode();
        match jit.step(jit_machine, limit) {
            Ok(steps) => {
                // A unit of no steps (the JIT translated) still made the
                // checks before an instruction, which may end a segment:
                // the interpreter makes them too.
                let caught_up = match steps {
                    0 => reference.before_instruction(limit),
                    _ => (0..steps)
                        .try_for_each(|_| interpreter_step(&mut interpreter, reference, limit)),
                };
                caught_up.map_err(|stop| {
                    diverged(
                        jit_machine,
                        reference,
                        Some((unit_pc, unit_mode)),
                        &format!("only the interpreter stopped: {stop}"),
                    )
                })?;
                compare(jit_machine, reference, Some((unit_pc, unit_mode)))?;
            }
            Err(jit_stop) => {
                let mut steps = 0;
                let reference_stop = loop {
                    if let Err(stop) = interpreter_step(&mut interpreter, reference, limit) {
                        break Some(stop);
                    }
                    steps += 1;
                    if steps > MAX_CATCH_UP_STEPS || reference.user_cycles > jit_machine.user_cycles
                    {
                        break None;
                    }
                };
                if reference_stop.as_ref() != Some(&jit_stop) {
                    let what = format!(
                        "the JIT stopped ({jit_stop}) but the interpreter {}",
                        match reference_stop {
                            Some(stop) => format!("stopped otherwise ({stop})"),
                            None => "did not".to_string(),
                        }
                    );
                    return Err(diverged(
                        jit_machine,
                        reference,
                        Some((unit_pc, unit_mode)),
                        &what,
                    ));
                }
                compare(jit_machine, reference, Some((unit_pc, unit_mode)))?;
                return Err(jit_stop);
            }
        }
    }
}

fn interpreter_step(
    interpreter: &mut Interpreter,
    m: &mut Machine,
    limit: u64,
) -> Result<(), Stop> {
    m.before_instruction(limit)?;
    interpreter.step(m)
}

/// The words both machines must agree on besides memory pages: the 32
/// registers and the x0 sink of each mode, then MEPC.
const STATE_WORDS: usize = 2 * 33 + 1;

/// Address of state word `i`.
fn state_addr(i: usize) -> u32 {
    if i == STATE_WORDS - 1 {
        return MEPC_ADDR;
    }
    let base = if i < 33 {
        USER_REGS_ADDR
    } else {
        MACHINE_REGS_ADDR
    };
    match i % 33 {
        32 => base + X0_SINK_OFFSET,
        r => base + 4 * r as u32,
    }
}

/// Name of state word `i`, for reports.
fn state_name(i: usize) -> String {
    if i == STATE_WORDS - 1 {
        return "MEPC".to_string();
    }
    let mode = if i < 33 { "user" } else { "machine" };
    match i % 33 {
        32 => format!("{mode} x0 sink"),
        r => format!("{mode} {}", NAMES[r]),
    }
}

fn compare(a: &mut Machine, b: &mut Machine, unit: Option<(u32, Mode)>) -> Result<(), Stop> {
    let mut differences = Vec::new();
    if a.pc != b.pc {
        differences.push(format!(
            "pc: JIT {:#010x}, interpreter {:#010x}",
            a.pc, b.pc
        ));
    }
    if a.mode() != b.mode() {
        differences.push(format!(
            "machine mode: JIT {}, interpreter {}",
            a.mode(),
            b.mode()
        ));
    }
    if a.user_cycles != b.user_cycles {
        differences.push(format!(
            "user cycles: JIT {}, interpreter {}",
            a.user_cycles, b.user_cycles
        ));
    }
    if a.cycle_model.position() != b.cycle_model.position() {
        let ((sa, pa), (sb, pb)) = (a.cycle_model.position(), b.cycle_model.position());
        differences.push(format!(
            "segments finished and paging cycles: JIT {sa} and {pa}, interpreter {sb} and {pb}"
        ));
    }
    for i in 0..STATE_WORDS {
        let addr = state_addr(i);
        let (x, y) = (a.mem.load_u32(addr), b.mem.load_u32(addr));
        if x != y {
            let name = state_name(i);
            differences.push(format!("{name}: JIT {x:#010x}, interpreter {y:#010x}"));
        }
    }
    let mut pages = a.mem.take_written_pages();
    pages.extend(b.mem.take_written_pages());
    pages.sort_unstable();
    pages.dedup();
    for page in pages {
        let (x, y) = (a.mem.code_page_bytes(page), b.mem.code_page_bytes(page));
        if x == y {
            continue;
        }
        if let Some(word) = (0..x.len() / 4).find(|w| x[4 * w..4 * w + 4] != y[4 * w..4 * w + 4]) {
            let addr = page * CODE_PAGE_BYTES + 4 * word as u32;
            differences.push(format!(
                "memory at {addr:#010x}: JIT {:#010x}, interpreter {:#010x}",
                a.mem.load_u32(addr),
                b.mem.load_u32(addr)
            ));
        }
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(diverged(a, b, unit, &differences.join("\n  ")))
    }
}

/// The divergence report: the unit's block with its disassembly, what
/// differs, and both machines' registers.
fn diverged(a: &Machine, b: &Machine, unit: Option<(u32, Mode)>, what: &str) -> Stop {
    let mut text = String::from("the JIT and the interpreter diverged");
    if let Some((pc, mode)) = unit {
        let _ = write!(text, " in the block at {pc:#010x} ({mode} mode):");
        let mut addr = pc;
        for _ in 0..crate::jit::MAX_BLOCK_INSNS {
            let insn = decode(a.mem.load_u32(addr));
            let marker = if addr == a.pc || addr == b.pc {
                "=>"
            } else {
                "  "
            };
            let _ = write!(
                text,
                "\n  {marker} {addr:#010x}: {}",
                insn.disassemble(Some(addr))
            );
            if insn.op.ends_block() || code_page(addr + 4) != code_page(pc) {
                break;
            }
            addr += 4;
        }
    }
    let _ = write!(
        text,
        "\ndifferences:\n  {what}\nJIT state: pc {:#010x}, {} cycles",
        a.pc, a.user_cycles
    );
    let _ = write!(
        text,
        "\ninterpreter state: pc {:#010x}, {} cycles",
        b.pc, b.user_cycles
    );
    for (label, m) in [("JIT", a), ("interpreter", b)] {
        let _ = write!(text, "\n{label} registers ({} mode):", m.mode());
        for (i, name) in NAMES.iter().enumerate() {
            if i % 8 == 0 {
                text.push_str("\n ");
            }
            let _ = write!(text, " {name}={:08x}", m.reg(i));
        }
    }
    Stop::Divergence(text)
}

/// Checks that both machines of a differential run wrote the same output.
pub fn compare_output(jit: &Machine, reference: &Machine) -> Result<(), Stop> {
    let streams = [
        (
            "stdout",
            jit.io.stdout.captured(),
            reference.io.stdout.captured(),
        ),
        (
            "stderr",
            jit.io.stderr.captured(),
            reference.io.stderr.captured(),
        ),
        ("journal", &jit.io.journal[..], &reference.io.journal[..]),
    ];
    for (name, a, b) in streams {
        if a != b {
            return Err(Stop::Divergence(format!(
                "the JIT and the interpreter wrote different {name}: {} bytes against {}",
                a.len(),
                b.len()
            )));
        }
    }
    Ok(())
}
