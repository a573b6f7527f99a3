//! `zkjit-r0vm`: a drop-in r0vm server for risc0-zkvm 3.0 host programs.
//! Set `RISC0_SERVER_PATH` to it (with `RISC0_EXECUTOR=ipc`) and the host
//! program's executions run on zkjit.

use std::process::ExitCode;

use clap::Parser;

/// A drop-in r0vm server: risc0-zkvm 3.0 host programs execute their
/// guests on zkjit with RISC0_EXECUTOR=ipc and RISC0_SERVER_PATH set to
/// this binary. Environment: ZKJIT_ENGINE=jit|interp picks the engine
/// (default jit); ZKJIT_R0VM_FORWARD=PATH names a real r0vm that requests
/// other than execute (prove, lift, join, ...) are passed to.
#[derive(Parser)]
#[command(name = "zkjit-r0vm", disable_version_flag = true)]
struct Options {
    /// Connect to the client listening on 127.0.0.1:PORT and serve it.
    #[arg(long)]
    port: Option<u16>,
    /// Print the version (the r0vm protocol version last, as risc0-zkvm reads it).
    #[arg(long)]
    version: bool,
}

fn main() -> ExitCode {
    let options = Options::parse();
    if options.version {
        println!("{}", zkjit::r0vm::version_line());
        return ExitCode::SUCCESS;
    }
    let Some(port) = options.port else {
        eprintln!("zkjit-r0vm: give --port PORT (risc0-zkvm does), or --version; --help says more");
        return ExitCode::from(2);
    };
    let served =
        zkjit::r0vm::ServerOptions::from_env().and_then(|server| zkjit::r0vm::serve(port, &server));
    match served {
        Ok(0) => ExitCode::SUCCESS,
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) => {
            eprintln!("zkjit-r0vm: {error:#}");
            ExitCode::FAILURE
        }
    }
}
