//! Segments for a prover: zkjit's segment files are the reference
//! executor's, its segments decode and re-execute on the reference, and
//! the command line writes them safely. (Byte identity on every guest is
//! checked in `oracle.rs`.)

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::{pattern, text, zkjit, GuestRun};
use risc0_circuit_rv32im::execute::Segment as ReferenceSegment;
use risc0_zkos_v1compat::V1COMPAT_ELF;
use zkjit::segments::Segment;
use zkjit::{Config, Engine, Input, Outcome, Program, Session};

/// Runs `program` with segments of `2^po2` cycles on `engine` (output
/// captured, `input` as stdin), keeping every segment.
fn segments_of(
    program: &Program,
    engine: Engine,
    po2: u32,
    input: &[u8],
    max_cycles: Option<u64>,
) -> Vec<Segment> {
    let config = Config {
        engine,
        po2: Some(po2),
        input: Input::Bytes(input.to_vec()),
        capture_output: true,
        random_seed: Some(1),
        max_cycles,
        ..Config::default()
    };
    let mut session = Session::new(program, config).expect("session");
    let segments = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&segments);
    session
        .on_segment(move |segment| {
            sink.lock().unwrap().push(segment);
            Ok(())
        })
        .expect("segments");
    let report = session.run();
    assert!(
        report.error.is_none() || max_cycles.is_some(),
        "{:?}",
        report.error
    );
    let segments = std::mem::take(&mut *segments.lock().unwrap());
    segments
}

/// Decodes each of `segments` with the reference's decoder and runs it
/// on the reference's executor, which must accept it and end where the
/// segment's claim says.
fn reference_executes(segments: &[Segment], what: &str) {
    for segment in segments {
        let bytes = segment.encode();
        let decoded = ReferenceSegment::decode(&bytes)
            .unwrap_or_else(|e| panic!("{what}: segment {}: {e:#}", segment.index));
        assert_eq!(decoded.encode().unwrap(), bytes, "{what}: re-encoding");
        decoded
            .execute()
            .unwrap_or_else(|e| panic!("{what}: segment {} fails: {e:#}", segment.index));
    }
}

#[test]
fn segments_of_a_guest_with_input_and_a_journal_re_execute_on_the_reference() {
    let run = GuestRun::new("echo").input(pattern(20_000));
    let program = run.program(V1COMPAT_ELF);
    for engine in [Engine::Interp, Engine::Jit] {
        let segments = segments_of(&program, engine, 14, &run.input, None);
        assert!(segments.len() > 1, "{} segments", segments.len());
        let reads: usize = segments.iter().map(|s| s.read_record.len()).sum();
        assert!(reads > 0, "the input is read through host READs");
        let last = segments.last().unwrap();
        assert!(last.claim.terminate_state.is_some() && last.claim.output.is_some());
        assert_eq!(last.segment_threshold, 0);
        for pair in segments.windows(2) {
            assert_eq!(pair[0].claim.post_state, pair[1].claim.pre_state);
            assert_eq!(pair[0].index + 1, pair[1].index);
        }
        reference_executes(&segments, "echo");
    }
}

#[test]
fn a_sample_of_a_benchmark_guests_segments_re_execute_on_the_reference() {
    let elf = common::bench_guest("sha256");
    let program = Program::from_bytes(&elf, false, V1COMPAT_ELF, true).expect("loads");
    let segments = segments_of(&program, Engine::Jit, 16, &[], Some(2_000_000));
    assert!(segments.len() > 20, "{} segments", segments.len());
    let sample: Vec<Segment> = segments.iter().step_by(7).cloned().collect();
    reference_executes(&sample, "sha256");
    // The run stopped at its cycle limit: the last segment ends there,
    // with no terminate state.
    assert!(segments.last().unwrap().claim.terminate_state.is_none());
}

#[test]
fn the_segment_api_reports_a_sink_error_and_stops_the_run() {
    let program = GuestRun::new("echo").program(V1COMPAT_ELF);
    let config = Config {
        po2: Some(14),
        input: Input::Bytes(pattern(20_000)),
        capture_output: true,
        ..Config::default()
    };
    let mut session = Session::new(&program, config).expect("session");
    session
        .on_segment(|segment| {
            anyhow::ensure!(segment.index < 1, "the prover queue is full");
            Ok(())
        })
        .unwrap();
    let report = session.run();
    assert!(matches!(report.outcome, Outcome::Stopped(_)));
    let error = report.error.unwrap();
    assert!(
        error.contains("segment 1") && error.contains("the prover queue is full"),
        "{error}"
    );
}

#[test]
fn segments_need_the_cycle_model() {
    let program = GuestRun::new("hello").program(V1COMPAT_ELF);
    let config = Config {
        user_cycles_only: true,
        ..Config::default()
    };
    let mut session = Session::new(&program, config).expect("session");
    let error = session.on_segment(|_| Ok(())).unwrap_err().to_string();
    assert!(error.contains("cycle model"), "{error}");
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zkjit-segments-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn segment_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_command_line_writes_the_reference_segments_to_a_directory() {
    let guest = common::guest_path("echo");
    let input = scratch("input");
    std::fs::write(&input, pattern(20_000)).unwrap();
    let dir = scratch("out").join("nested");
    let stats = scratch("stats.json");
    let kernel = scratch("v1compat.elf");
    std::fs::write(&kernel, V1COMPAT_ELF).unwrap();
    let args = |dir: &Path| {
        vec![
            "run".to_string(),
            guest.to_str().unwrap().into(),
            "--kernel".into(),
            kernel.to_str().unwrap().into(),
            "--po2".into(),
            "14".into(),
            "--input".into(),
            input.to_str().unwrap().into(),
            "--segments".into(),
            dir.to_str().unwrap().into(),
            "--stats-json".into(),
            stats.to_str().unwrap().into(),
        ]
    };
    let run = |args: &[String]| zkjit(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let out = run(&args(&dir));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The files are the library's segments, which are the reference's.
    let program = GuestRun::new("echo").program(V1COMPAT_ELF);
    let expected = segments_of(&program, Engine::Jit, 14, &pattern(20_000), None);
    let names = segment_files(&dir);
    assert_eq!(names.len(), expected.len(), "{names:?}");
    for segment in &expected {
        let file = dir.join(format!("segment-{}.bin", segment.index));
        assert!(
            std::fs::read(&file).unwrap() == segment.encode(),
            "{}",
            file.display()
        );
    }
    // The stats name the image ID (as `zkjit image-id` prints it), the
    // post-state and the journal's digest.
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let image_id = zkjit(&[
        "image-id",
        guest.to_str().unwrap(),
        "--kernel",
        kernel.to_str().unwrap(),
    ]);
    assert_eq!(json["image_id"], text(&image_id.stdout).trim());
    let last = expected.last().unwrap();
    assert_eq!(
        json["post_state_root"],
        hex(last.claim.post_state.as_bytes())
    );
    let post_state = zkjit::image_id::system_state_digest(&last.claim.post_state);
    assert_eq!(json["post_state"], hex(&post_state));
    assert_eq!(
        json["journal_digest"],
        hex(&common::oracle::sha256(&pattern(20_000)))
    );
    assert_eq!(json["exit_code"], 0);
    // A directory that holds files is refused, unless --force.
    let out = run(&args(&dir));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not empty"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(dir.join("segment-999.bin"), b"stale").unwrap();
    std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
    let mut forced = args(&dir);
    forced.push("--force".into());
    let out = run(&forced);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let names = segment_files(&dir);
    assert!(!names.contains(&"segment-999.bin".to_string()), "{names:?}");
    assert!(names.contains(&"notes.txt".to_string()), "{names:?}");
    assert_eq!(names.len(), expected.len() + 1);
    // A directory that cannot be made is one line, and no run.
    let blocked = scratch("blocked");
    std::fs::write(&blocked, b"a file").unwrap();
    let out = run(&args(&blocked.join("segments")));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot create segment directory"),
        "{}",
        text(&out.stderr)
    );
    for path in [input, stats, blocked, kernel] {
        let _ = std::fs::remove_file(path);
    }
    let _ = std::fs::remove_dir_all(scratch("out"));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn image_digests_without_segments_are_those_of_the_segments() {
    let program = GuestRun::new("echo").program(V1COMPAT_ELF);
    let config = Config {
        po2: Some(14),
        input: Input::Bytes(pattern(20_000)),
        capture_output: true,
        image_digests: true,
        ..Config::default()
    };
    let only_digests = Session::new(&program, config.clone()).unwrap().run();
    let mut session = Session::new(&program, config).unwrap();
    session.on_segment(|_| Ok(())).unwrap();
    let with_segments = session.run();
    assert!(only_digests.image.is_some());
    assert_eq!(only_digests.image, with_segments.image);
    assert!(with_segments.cycles.unwrap().segments > 1);
}
