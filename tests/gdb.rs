//! `zkjit run --gdb`, driven by a real gdb (Debian's gdb-multiarch) in
//! batch mode: breakpoints (one in a hot loop the JIT has translated),
//! registers and variables, a single step, continue to the guest's exit,
//! and a fault reported as a signal. Skipped, saying so, where
//! gdb-multiarch is not installed (`.ci/run` installs it).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const GDB: &str = "gdb-multiarch";

fn gdb_installed() -> bool {
    let found = Command::new(GDB)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        eprintln!("skipped: {GDB} is not installed (apt-get install gdb-multiarch)");
    }
    found
}

/// Starts `zkjit run --gdb 127.0.0.1:0` on `args`; the process and the
/// address it listens on.
fn start_zkjit(args: &[&str]) -> (Child, String, BufReader<std::process::ChildStderr>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkjit"))
        .args(["run", "--gdb", "127.0.0.1:0"])
        .args(args)
        .env("ZKJIT_LOG", "zkjit::gdb=info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("zkjit starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr
        .read_line(&mut line)
        .expect("zkjit says where it listens");
    let addr = line
        .split("waiting for gdb on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    (child, addr, stderr)
}

/// Runs gdb-multiarch in batch mode on `elf` against `addr` with `commands`.
fn run_gdb(elf: &str, addr: &str, commands: &[&str]) -> String {
    let mut gdb = Command::new(GDB);
    gdb.args(["-batch", "-nx", "-ex", "set architecture riscv:rv32"])
        .args(["-ex", &format!("file {elf}")])
        .args(["-ex", &format!("target remote {addr}")]);
    for command in commands {
        gdb.args(["-ex", command]);
    }
    let output = gdb.stdin(Stdio::null()).output().expect("gdb runs");
    common::text(&output.stdout) + &common::text(&output.stderr)
}

fn rest_of(mut stderr: BufReader<std::process::ChildStderr>) -> String {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut text).unwrap();
    text
}

#[test]
fn gdb_breaks_in_translated_code_reads_registers_steps_and_continues_to_the_exit() {
    if !gdb_installed() {
        return;
    }
    let elf = common::guest_path("gdb_target");
    let elf = elf.to_str().unwrap();
    let (mut zkjit, addr, stderr) = start_zkjit(&[elf]);
    let out = run_gdb(
        elf,
        &addr,
        &[
            // After the first loop: 20 000 calls of `hot`, translated.
            "break marker",
            "continue",
            "print (unsigned)counter",
            // In the hot loop, whose code the JIT has translated.
            "break hot",
            "continue",
            "print $a0",
            "continue",
            "print $a0",
            "print (unsigned)counter",
            "stepi",
            "print $pc",
            "delete",
            "continue",
        ],
    );
    let status = zkjit.wait().expect("zkjit ends");
    let log = rest_of(stderr);
    assert!(
        out.contains("Breakpoint 1, ") && out.contains(" in marker ()"),
        "{out}"
    );
    assert!(out.contains("$1 = 20000\n"), "{out}");
    assert!(
        out.contains("Breakpoint 2, ") && out.contains(" in hot ()"),
        "{out}"
    );
    // hot(0), then hot(1), of the second loop.
    assert!(
        out.contains("$2 = 0\n") && out.contains("$3 = 1\n"),
        "{out}"
    );
    // 20 000 calls, marker, hot(0).
    assert!(out.contains("$4 = 1020001\n"), "{out}");
    // One instruction on from the breakpoint in hot.
    let hot_pc = out
        .split("Breakpoint 2, ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|pc| u32::from_str_radix(pc.trim_start_matches("0x"), 16).ok())
        .unwrap_or_else(|| panic!("no breakpoint pc in {out}"));
    assert!(
        out.contains(&format!("$5 = (void (*)()) {:#x} <hot+", hot_pc + 4)),
        "{out}"
    );
    assert!(out.contains("exited with code 07"), "{out}");
    assert_eq!(status.code(), Some(7), "{log}");
    // The breakpoint in hot dropped the translations of its page.
    let dropped = log
        .lines()
        .filter(|l| l.contains(&format!("breakpoint at {hot_pc:#010x}: ")))
        .filter_map(|l| l.split(": ").last()?.split(' ').next()?.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    assert!(
        dropped > 0,
        "no translation of hot's page was dropped:\n{log}"
    );
}

#[test]
fn a_fault_under_gdb_is_a_signal_with_the_clis_message() {
    if !gdb_installed() {
        return;
    }
    let elf = common::guest_path("trap");
    let elf = elf.to_str().unwrap();
    let (mut zkjit, addr, stderr) = start_zkjit(&[elf, "--", "load-fault"]);
    let out = run_gdb(elf, &addr, &["continue", "continue"]);
    let status = zkjit.wait().expect("zkjit ends");
    let log = rest_of(stderr);
    assert!(out.contains("Program received signal SIGSEGV"), "{out}");
    assert!(
        out.contains("Program terminated with signal SIGSEGV"),
        "{out}"
    );
    assert!(
        log.contains("zkjit: error: fault: load access fault"),
        "{log}"
    );
    assert_eq!(status.code(), Some(1), "{log}");
}

#[test]
fn gdb_is_refused_with_the_differential_engine_and_with_segments() {
    let elf = common::guest_path("hello");
    let elf = elf.to_str().unwrap();
    let output = common::zkjit(&["run", "--engine", "diff", "--gdb", "127.0.0.1:0", elf]);
    assert_eq!(output.status.code(), Some(2));
    assert!(common::text(&output.stderr).contains("gdb needs the jit or the interp engine"));
    let output = common::zkjit(&["run", "--segments", "/tmp", "--gdb", "127.0.0.1:0", elf]);
    assert_eq!(output.status.code(), Some(2));
    let output = common::zkjit(&["run", "--gdb", "no-such-host-name.invalid:1", elf]);
    assert_eq!(output.status.code(), Some(2));
    assert!(common::text(&output.stderr).contains("cannot listen for gdb"));
}
