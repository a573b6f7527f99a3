//! zkjit: an exact, fast executor for RISC Zero zkVM guest programs.
//!
//! The machine is defined by the reference [`interpreter`] over one
//! [`decoder`], one guest [`memory`], one [`machine`] state with its trap
//! path ([`trap`]) and host calls ([`host_calls`], [`syscalls`], [`host`]).
//! [`loader`] reads program files; [`session`] is the API a prover embeds.

pub mod cycle_model;
pub mod decoder;
pub mod differential;
pub mod host;
pub mod host_calls;
pub mod interpreter;
pub mod jit;
pub mod loader;
pub mod machine;
pub mod memory;
pub mod mode;
pub mod platform;
pub mod progress;
pub mod session;
pub mod stop;
pub mod syscalls;

pub use loader::{load_program_file, KERNEL_ELF};
pub use loader::{LoadError, Program};
pub use machine::{Halt, HaltKind, Machine};
pub use mode::Mode;
pub use session::{Config, Engine, Input, Outcome, Report, Session};
pub use stop::{Fault, Stop, TrapCause};
