//! The `zkjit` command line, run as a user would run it.

mod common;

use std::path::PathBuf;

use common::{guest_path, text, zkjit};
use risc0_zkos_v1compat::V1COMPAT_ELF;

/// A scratch file path unique to this test process and `name`.
fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("zkjit-cli-{}-{name}", std::process::id()))
}

#[test]
fn runs_hello_and_prints_a_summary() {
    let out = zkjit(&["run", guest_path("hello").to_str().unwrap()]);
    assert_eq!(text(&out.stdout), "Hello, world!\n");
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("exit code 0 (terminate)"), "{stderr}");
    assert!(
        stderr.contains(" paging + ") && stderr.contains("total cycles in 1 segment (po2 20)"),
        "{stderr}"
    );
}

#[test]
fn po2_and_user_only_cycles() {
    let hello = guest_path("hello");
    let hello = hello.to_str().unwrap();
    for bad in ["12", "25", "x"] {
        let out = zkjit(&["run", hello, "--po2", bad]);
        assert_eq!(out.status.code(), Some(2), "--po2 {bad}");
        assert!(text(&out.stderr).contains("--po2"), "{}", text(&out.stderr));
    }
    let out = zkjit(&["run", hello, "--po2", "13"]);
    assert!(
        text(&out.stderr).contains("(po2 13)"),
        "{}",
        text(&out.stderr)
    );
    let out = zkjit(&["run", hello, "--cycles", "user", "--po2", "16"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--po2"), "{}", text(&out.stderr));
    let out = zkjit(&["run", hello, "--cycles", "user"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr.contains(" user cycles, ") && !stderr.contains("paging"),
        "{stderr}"
    );
}

#[test]
fn exits_with_the_guest_exit_code() {
    let out = zkjit(&[
        "run",
        "-q",
        guest_path("exit_code").to_str().unwrap(),
        "--",
        "7",
    ]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn input_journal_and_stats_files() {
    let input = scratch("input");
    let journal = scratch("journal");
    let stats = scratch("stats.json");
    std::fs::write(&input, b"some bytes for the journal").unwrap();
    let out = zkjit(&[
        "run",
        guest_path("echo").to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
        "--stats-json",
        stats.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read(&journal).unwrap(),
        b"some bytes for the journal"
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(json["exit_code"], 0);
    assert_eq!(json["halt"], "terminate");
    assert_eq!(json["engine"], "jit");
    assert!(json["jit"]["blocks_compiled"].as_u64().is_some());
    assert!(json["user_cycles"].as_u64().unwrap() > 1000);
    assert!(json["wall_seconds"].as_f64().is_some());
    // The cycle model: the segments add up to the totals.
    assert_eq!(json["po2"], 20);
    let segments = json["per_segment"].as_array().unwrap();
    assert_eq!(json["segments"].as_u64().unwrap(), segments.len() as u64);
    for kind in [
        "user_cycles",
        "paging_cycles",
        "reserved_cycles",
        "total_cycles",
    ] {
        let sum: u64 = segments.iter().map(|s| s[kind].as_u64().unwrap()).sum();
        assert_eq!(json[kind].as_u64().unwrap(), sum, "{kind}");
    }
    assert!(json["paging_cycles"].as_u64().unwrap() > 0);
    let total = json["total_cycles"].as_u64().unwrap();
    assert!(total.is_power_of_two(), "one segment of {total} cycles");
    for path in [input, journal, stats] {
        let _ = std::fs::remove_file(path);
    }
}

#[test]
fn assumptions_are_given_on_the_command_line_and_listed_in_the_stats() {
    let stats = scratch("composition.json");
    let claim = "11".repeat(32);
    let out = zkjit(&[
        "run",
        guest_path("composition").to_str().unwrap(),
        "--assumption",
        &claim,
        "--stats-json",
        stats.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let used = json["assumptions_used"].as_array().unwrap();
    assert_eq!(used[0], format!("{claim}:{}", "0".repeat(64)));
    assert_eq!(json["keccak_proofs"], 1);
    let _ = std::fs::remove_file(stats);
    // A malformed assumption is refused before anything runs.
    let out = zkjit(&[
        "run",
        guest_path("composition").to_str().unwrap(),
        "--assumption",
        "12ab",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("64 hex digits"),
        "{}",
        text(&out.stderr)
    );
    // Without it, the run stops naming the claim.
    let out = zkjit(&["run", guest_path("composition").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no assumption resolves claim"));
}

#[test]
fn a_bad_host_call_is_one_line_with_cause_pc_and_address() {
    for (guest, arg, cause) in [
        (
            "poseidon2",
            "bad-address",
            "POSEIDON2 input: buffer 0xfffffff0 + 0x00000040 bytes is outside user memory",
        ),
        (
            "poseidon2",
            "bad-check",
            "POSEIDON2 check failed: the output word at 0x",
        ),
        ("bigint2", "bad-program", "not a bigint program"),
    ] {
        let out = zkjit(&["run", guest_path(guest).to_str().unwrap(), "--", arg]);
        assert_eq!(out.status.code(), Some(1), "{guest} {arg}");
        let stderr = text(&out.stderr);
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("zkjit: error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(
            errors[0].contains(cause) && errors[0].contains("at pc 0x"),
            "{stderr}"
        );
        assert!(errors[0].contains("called from user pc 0x"), "{stderr}");
    }
}

#[test]
fn image_id_is_the_one_risc0_ships_with_the_program() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/real_guests");
    let out = zkjit(&[
        "image-id",
        root.join("risc0-povw-log-builder.bin").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shipped = std::fs::read(root.join("risc0-povw-log-builder.iid")).unwrap();
    let hex: String = shipped.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(text(&out.stdout).trim(), hex);
    // A file that is no program is refused with its name.
    let out = zkjit(&["image-id", root.join("README.md").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("README.md"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn guest_args_and_env() {
    let out = zkjit(&[
        "run",
        "-q",
        guest_path("args_env").to_str().unwrap(),
        "--env",
        "ZKJIT_GREETING=hey there",
        "--",
        "first",
        "--second",
    ]);
    assert_eq!(
        text(&out.stdout),
        "argc=2\nargv[0]=first\nargv[1]=--second\nZKJIT_GREETING=hey there\n"
    );
}

#[test]
fn a_fault_is_one_line_with_cause_pc_address_and_symbol() {
    let stats = scratch("fault.json");
    let out = zkjit(&[
        "run",
        guest_path("trap").to_str().unwrap(),
        "--stats-json",
        stats.to_str().unwrap(),
        "--",
        "load-fault",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("zkjit: error:"))
        .expect("an error line");
    assert!(line.contains("load access fault"), "{line}");
    assert!(line.contains("<main+0x"), "{line}");
    assert!(line.contains("address 0x00000100"), "{line}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(json["halt"], "fault");
    assert!(json["exit_code"].is_null());
    let _ = std::fs::remove_file(stats);
}

#[test]
fn bare_programs_halt_through_terminate() {
    let out = zkjit(&["run", "--bare", guest_path("isa_bare").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = zkjit(&["run", "--bare", guest_path("fence_bare").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
}

#[test]
fn runs_under_the_reference_kernel_and_as_r0bf() {
    let kernel = scratch("v1compat.elf");
    std::fs::write(&kernel, V1COMPAT_ELF).unwrap();
    let out = zkjit(&[
        "run",
        guest_path("hello").to_str().unwrap(),
        "--kernel",
        kernel.to_str().unwrap(),
    ]);
    assert_eq!(
        text(&out.stdout),
        "Hello, world!\n",
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));

    let binary = scratch("hello.r0bf");
    let hello = std::fs::read(guest_path("hello")).unwrap();
    std::fs::write(
        &binary,
        risc0_binfmt::ProgramBinary::new(&hello, V1COMPAT_ELF).encode(),
    )
    .unwrap();
    let out = zkjit(&["run", binary.to_str().unwrap()]);
    assert_eq!(
        text(&out.stdout),
        "Hello, world!\n",
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
    let _ = std::fs::remove_file(kernel);
    let _ = std::fs::remove_file(binary);
}

#[test]
fn bad_files_are_refused_with_one_line() {
    let bogus = scratch("bogus");
    std::fs::write(&bogus, b"not a program").unwrap();
    for args in [
        vec!["run", bogus.to_str().unwrap()],
        vec!["run", "/definitely/not/here.elf"],
        vec!["disasm", bogus.to_str().unwrap()],
    ] {
        let out = zkjit(&args);
        assert_eq!(out.status.code(), Some(2));
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("zkjit: error:"), "{stderr}");
    }
    let _ = std::fs::remove_file(bogus);
}

#[test]
fn disassembles_with_symbols() {
    let out = zkjit(&["disasm", guest_path("hello").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let listing = text(&out.stdout);
    assert!(listing.contains("<main>:"), "{listing}");
    assert!(listing.contains("<_start>:"), "{listing}");
    assert!(listing.contains("ecall"), "{listing}");
}

#[test]
fn cycle_limit() {
    let out = zkjit(&[
        "run",
        guest_path("recursion").to_str().unwrap(),
        "--max-cycles",
        "5000",
    ]);
    // The cycle limit's own exit status.
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("cycle limit of 5000 user cycles reached"));
}

#[test]
fn help_names_the_translation_threshold_in_force() {
    let out = zkjit(&["run", "--help"]);
    let help = text(&out.stdout);
    let default = format!("(default: {},", zkjit::jit::DEFAULT_THRESHOLD);
    let warmup = format!("first {} cycles", zkjit::jit::DEFAULT_WARMUP_CYCLES);
    // (clap wraps help lines: compare with the whitespace collapsed.)
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains(&default), "{help}");
    assert!(help.contains(&warmup), "{help}");
}

#[test]
fn help_names_the_segment_sizes_in_force() {
    let out = zkjit(&["run", "--help"]);
    let help = text(&out.stdout);
    let range = zkjit::cycle_model::PO2_RANGE;
    let sizes = format!("N from {} to {}", range.start(), range.end());
    let default = format!("(default {})", zkjit::cycle_model::DEFAULT_PO2);
    // (clap wraps help lines: compare with the whitespace collapsed.)
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains(&sizes), "{help}");
    assert!(help.contains(&default), "{help}");
}
