//! Real compiled guests that published crates ship (see
//! `tests/real_guests/README.md`), run on both engines and on the reference
//! executor: exit code, journal, stdout and every cycle figure identical,
//! at po2 16 and 20.

mod common;

use std::path::PathBuf;

use common::oracle::{run_oracle_binary, run_oracle_image, OracleRun};
use risc0_binfmt::{MemoryImage, ProgramBinary};
use risc0_zkos_v1compat::V1COMPAT_ELF;
use zkjit::host::HostIo;
use zkjit::{Config, Engine, Outcome, Program, Report, Session, KERNEL_ELF};

/// The segment sizes each guest is checked at.
const PO2S: [u32; 2] = [16, 20];

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/real_guests")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn io_with(input: &[u8]) -> HostIo {
    let mut io = HostIo::captured();
    io.stdin = Box::new(std::io::Cursor::new(input.to_vec()));
    io.set_random_seed(1);
    io
}

/// Runs `program` on both engines at `po2` and checks it against `oracle`.
fn check(name: &str, program: &Program, input: &[u8], po2: u32, oracle: &OracleRun) -> Report {
    let reports = [Engine::Interp, Engine::Jit].map(|engine| {
        let config = Config {
            engine,
            input: zkjit::Input::Bytes(input.to_vec()),
            capture_output: true,
            random_seed: Some(1),
            po2: Some(po2),
            ..Config::default()
        };
        Session::new(program, config).expect("session").run()
    });
    for report in &reports {
        let what = format!("{name} at po2 {po2} ({})", report.engine.name());
        assert!(
            matches!(report.outcome, Outcome::Halted(_)),
            "{what}: {:?}",
            report.error
        );
        assert_eq!(
            common::exit_code(report),
            oracle.exit_code,
            "{what}: exit code"
        );
        assert_eq!(report.journal, oracle.journal, "{what}: journal");
        assert_eq!(report.stdout, oracle.stdout, "{what}: stdout");
        common::assert_cycles_match(&what, po2, report, oracle);
    }
    let [_, jit] = reports;
    jit
}

#[test]
fn povw_log_builder_with_an_initial_state() {
    let binary = fixture("risc0-povw-log-builder.bin");
    let image_id = ProgramBinary::decode(&binary)
        .and_then(|b| b.compute_image_id())
        .expect("an R0BF binary");
    // risc0-povw's Input, borsh-encoded as its prover writes it with
    // `write_frame`: State::Initial { work_log_id } (variant 0, a U160 in 20
    // little-endian bytes), no updates (an empty Vec: a u32 0), and the
    // guest's own image ID.
    let mut payload = vec![0u8];
    payload.extend(1..=20u8);
    payload.extend(0u32.to_le_bytes());
    payload.extend(image_id.as_bytes());
    let mut input = (payload.len() as u32).to_le_bytes().to_vec();
    input.extend(&payload);
    let program = Program::from_bytes(&binary, false, KERNEL_ELF, false).expect("loads");
    for po2 in PO2S {
        let oracle =
            run_oracle_binary(&binary, io_with(&input), po2).expect("the reference runs it");
        let report = check("povw log builder", &program, &input, po2, &oracle);
        // The journal is the log's: its ID, then the initial and updated
        // commitments (equal: no updates), the value (0) and the image ID.
        assert_eq!(&report.journal[..20], &payload[1..21]);
        assert_eq!(report.journal[20..52], report.journal[52..84]);
        assert_eq!(report.journal[84..92], [0; 8]);
        assert_eq!(&report.journal[92..], image_id.as_bytes());
    }
}

#[test]
fn datasheet_loop() {
    let elf = fixture("loop.bin");
    let input = 100_000u32.to_le_bytes();
    for po2 in PO2S {
        let image = ProgramBinary::new(&elf, V1COMPAT_ELF)
            .to_image()
            .expect("image");
        let oracle =
            run_oracle_image(image, io_with(&input), po2, None).expect("the reference runs it");
        let program = Program::from_bytes(&elf, false, V1COMPAT_ELF, false).expect("loads");
        let report = check("loop", &program, &input, po2, &oracle);
        assert!(report.user_cycles > 200_000, "{}", report.user_cycles);
    }
}

#[test]
fn riscv_tests_as_risc_zero_built_them() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/real_guests/riscv-tests");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("the riscv-tests directory")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 46);
    for name in &names {
        let elf = fixture(&format!("riscv-tests/{name}"));
        let program = Program::from_bytes(&elf, true, KERNEL_ELF, false).expect("loads");
        for po2 in PO2S {
            let kernel = risc0_binfmt::Program::load_elf(&elf, u32::MAX).expect("an ELF");
            let image = MemoryImage::new_kernel(kernel);
            let oracle = run_oracle_image(image, io_with(&[]), po2, None)
                .unwrap_or_else(|e| panic!("{name}: the reference failed: {e:#}"));
            let report = check(name, &program, &[], po2, &oracle);
            assert_eq!(common::exit_code(&report), 0, "{name} passes");
        }
    }
}
