//! A machine that runs hand-encoded instructions at `CODE`, on the
//! interpreter or the JIT (translating at the first entry), with the cycle
//! model off or on, in either mode; registers are set and read through the
//! memory-mapped files.
#![allow(dead_code)]

use std::ops::{Deref, DerefMut};

use zkjit::cycle_model::{Access, CycleModel, DEFAULT_PO2};
use zkjit::host::HostIo;
use zkjit::interpreter::Interpreter;
use zkjit::jit::{JitEngine, JitOptions};
use zkjit::platform::*;
use zkjit::{Machine, Mode, Stop};

pub const CODE: u32 = 0x0020_0000;
pub const HANDLER: u32 = 0xC000_0100;

/// An engine and whether the cycle model (paging and segments) is on: the
/// JIT translates page-state checks into its loads and stores only when it
/// is, so every instruction runs both ways.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Engine {
    Interp,
    Jit,
    InterpPaged,
    JitPaged,
}

impl Engine {
    pub fn is_jit(self) -> bool {
        matches!(self, Engine::Jit | Engine::JitPaged)
    }

    pub fn is_paged(self) -> bool {
        matches!(self, Engine::InterpPaged | Engine::JitPaged)
    }
}

/// A machine and the engine that runs it.
pub struct Rig {
    pub m: Machine,
    pub interpreter: Interpreter,
    pub jit: Option<JitEngine>,
}

impl Deref for Rig {
    type Target = Machine;
    fn deref(&self) -> &Machine {
        &self.m
    }
}

impl DerefMut for Rig {
    fn deref_mut(&mut self) -> &mut Machine {
        &mut self.m
    }
}

impl Rig {
    /// Executes `n` instructions (or fewer, up to a trap that changes the
    /// mode): one at a time on the interpreter, whole translated blocks on
    /// the JIT, which the cycle limit stops after the `n`th (when paging
    /// leaves translated code, the JIT interprets on to the block's end).
    pub fn steps(&mut self, n: u64) -> Result<(), Stop> {
        match &mut self.jit {
            None => {
                let mode = self.m.mode();
                for _ in 0..n {
                    if self.m.mode() != mode {
                        break;
                    }
                    self.interpreter.step(&mut self.m)?;
                }
                Ok(())
            }
            Some(jit) => {
                let limit = self.m.user_cycles + n;
                let mode = self.m.mode();
                let mut done = 0;
                while done < n && self.m.mode() == mode {
                    match jit.step(&mut self.m, limit) {
                        Ok(steps) => done += steps,
                        Err(Stop::CycleLimit { .. }) if self.m.user_cycles == limit => break,
                        Err(stop) => return Err(stop),
                    }
                }
                Ok(())
            }
        }
    }
}

impl Rig {
    /// Runs until a stop, with a cycle limit.
    pub fn run(&mut self, limit: u64) -> Result<(), Stop> {
        match &mut self.jit {
            None => self.interpreter.run(&mut self.m, Some(limit)),
            Some(jit) => jit.run(&mut self.m, Some(limit)),
        }
    }
}

/// Every engine, for the tests that run the same code on each.
pub const ENGINES: [Engine; 4] = [
    Engine::Interp,
    Engine::Jit,
    Engine::InterpPaged,
    Engine::JitPaged,
];

/// Every engine in every mode.
pub const ENGINE_MODES: [(Engine, Mode); 8] = {
    let mut all = [(Engine::Interp, Mode::User); 8];
    let mut k = 0;
    while k < 8 {
        all[k] = (ENGINES[k / 2], Mode::ALL[k % 2]);
        k += 1;
    }
    all
};

/// A machine about to run `code` at CODE in `mode` on `engine`, with trap
/// handlers and ECALL dispatch pointing at HANDLER.
pub fn rig(engine: Engine, mode: Mode, code: &[u32]) -> Rig {
    let jit = engine.is_jit().then(|| {
        JitEngine::new(JitOptions {
            threshold: 1,
            chain: false,
            ..JitOptions::default()
        })
    });
    let mut m = machine(mode, code);
    if engine.is_paged() {
        m.set_cycle_model(CycleModel::new(DEFAULT_PO2));
        // The code's page loaded, as after a first fetch: translated code is
        // entered only then (the interpreter would run the first block).
        m.cycle_model.access(CODE, Access::Read);
    }
    Rig {
        m,
        interpreter: Interpreter::new(),
        jit,
    }
}

/// A machine about to run `code` at CODE in `mode`, with trap handlers and
/// ECALL dispatch pointing at HANDLER.
pub fn machine(mode: Mode, code: &[u32]) -> Machine {
    let mut m = Machine::new(HostIo::captured()).unwrap();
    for (k, word) in code.iter().enumerate() {
        m.mem.store_u32(CODE + 4 * k as u32, *word);
    }
    for cause in 0..10 {
        m.mem.store_u32(TRAP_DISPATCH_ADDR + 4 * cause, HANDLER);
    }
    m.mem.store_u32(ECALL_DISPATCH_ADDR, HANDLER);
    m.pc = CODE;
    m.set_mode(mode);
    m
}
