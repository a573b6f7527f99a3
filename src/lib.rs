//! zkjit: an exact, fast executor for RISC Zero zkVM guest programs.
//!
//! The machine is defined by the reference [`interpreter`] over one
//! [`decoder`], one guest [`memory`], one [`machine`] state with its trap
//! path, the access rules of each [`mode`], the addresses in [`platform`],
//! and host calls ([`host_calls`], [`syscalls`], [`host`]); a run ends in a
//! [`stop`]. The [`jit`] runs the same machine from native code, the
//! [`cycle_model`] counts what proving costs, and [`differential`] runs both
//! engines side by side; [`segments`] are what a prover takes. [`loader`]
//! reads program files; [`session`] is the
//! API a prover embeds. `docs/machine.md` describes the machine and
//! `docs/design.md` the JIT.

pub mod cycle_model;
pub mod decoder;
pub mod differential;
pub mod gdb;
pub mod host;
pub mod host_calls;
pub mod image_id;
pub mod interpreter;
pub mod jit;
pub mod loader;
pub mod machine;
pub mod memory;
pub mod mode;
pub mod platform;
pub mod profile;
pub mod progress;
pub mod r0vm;
pub mod segments;
pub mod session;
pub mod stop;
pub mod syscalls;

pub use loader::{load_program_file, KERNEL_ELF};
pub use loader::{LoadError, Program};
pub use machine::{Halt, HaltKind, Machine};
pub use mode::Mode;
pub use session::{Config, Engine, Input, Outcome, Report, Session};
pub use stop::{Fault, Stop, TrapCause};
