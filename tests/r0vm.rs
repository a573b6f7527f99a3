//! zkjit-r0vm as a client sees it: this test plays risc0-zkvm's side of
//! the r0vm protocol (listen, spawn the server with `--port`, hello, one
//! request, answer its callbacks) with zkjit's generated messages. The
//! real client against the real local executor is `r0vm-client/`, too
//! heavy to build here.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};

use prost::Message;
use risc0_binfmt::ProgramBinary;
use risc0_zkos_v1compat::V1COMPAT_ELF;
use zkjit::r0vm::protos::{api, base, core as pb};
use zkjit::segments::Segment;
use zkjit::{Config, Input, Program, Session, KERNEL_ELF};

const SERVER: &str = env!("CARGO_BIN_EXE_zkjit-r0vm");

/// A spawned zkjit-r0vm and its connection.
struct Server {
    child: Child,
    stream: TcpStream,
}

impl Server {
    /// Spawns the server with `env` set and accepts its connection.
    fn spawn(env: &[(&str, &str)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let child = Command::new(SERVER)
            .arg("--port")
            .arg(port.to_string())
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .expect("zkjit-r0vm starts");
        let (stream, _) = listener.accept().unwrap();
        Self { child, stream }
    }

    fn send(&mut self, message: &impl Message) {
        let mut bytes = (message.encoded_len() as u32).to_le_bytes().to_vec();
        message.encode(&mut bytes).unwrap();
        self.stream.write_all(&bytes).unwrap();
    }

    fn recv<M: Message + Default>(&mut self) -> M {
        let mut length = [0u8; 4];
        self.stream.read_exact(&mut length).unwrap();
        let mut bytes = vec![0; u32::from_le_bytes(length) as usize];
        self.stream.read_exact(&mut bytes).unwrap();
        M::decode(bytes.as_slice()).unwrap()
    }

    /// Receives a reply that must be an error (every reply type has its
    /// error as field 2, a GenericError); its reason.
    fn recv_error(&mut self) -> api::GenericError {
        let reply: api::GenericReply = self.recv();
        match reply.kind {
            Some(api::generic_reply::Kind::Error(error)) => error,
            other => panic!("an error, not {other:?}"),
        }
    }

    /// Says hello as risc0-zkvm `version` does; the server's answer.
    fn hello(&mut self, (major, minor, patch): (u64, u64, u64)) -> api::HelloReply {
        self.send(&api::HelloRequest {
            version: Some(base::SemanticVersion {
                major,
                minor,
                patch,
                ..Default::default()
            }),
        });
        self.recv()
    }

    /// Waits for the server to exit: its status code and stderr.
    fn finish(mut self) -> (Option<i32>, String) {
        drop(self.stream);
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status.code(), stderr)
    }
}

/// What a client saw of an execution.
#[derive(Default)]
struct Seen {
    stdout: Vec<u8>,
    segments: Vec<(api::SegmentInfo, Vec<u8>)>,
    session: Option<api::SessionInfo>,
    error: Option<String>,
    keccak_proofs: Vec<api::ProveKeccakRequest>,
}

/// Runs `binary` through a server with `stdin` as fd 0 and `args`,
/// answering its callbacks as risc0-zkvm's client does.
fn execute(binary: Vec<u8>, stdin: &[u8], args: &[&str], po2: u32, engine: &str) -> Seen {
    execute_with(binary, stdin, args, po2, engine, |_| {})
}

/// `execute`, with the environment changed by `edit`.
fn execute_with(
    binary: Vec<u8>,
    stdin: &[u8],
    args: &[&str],
    po2: u32,
    engine: &str,
    edit: impl FnOnce(&mut api::ExecutorEnv),
) -> Seen {
    let mut env = api::ExecutorEnv {
        binary: Some(api::Asset {
            kind: Some(api::asset::Kind::Inline(binary)),
        }),
        read_fds: vec![0],
        slice_ios: vec!["zkjit::reverse".into()],
        write_fds: vec![1, 2],
        segment_limit_po2: Some(po2),
        args: args.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    };
    edit(&mut env);
    let mut server = Server::spawn(&[("ZKJIT_ENGINE", engine)]);
    assert!(matches!(
        server.hello((3, 0, 6)).kind,
        Some(api::hello_reply::Kind::Ok(_))
    ));
    server.send(&api::ServerRequest {
        kind: Some(api::server_request::Kind::Execute(api::ExecuteRequest {
            env: Some(env),
            segments_out: Some(api::AssetRequest {
                kind: Some(api::asset_request::Kind::Inline(())),
            }),
        })),
    });
    let mut seen = Seen::default();
    let mut stdin = stdin;
    loop {
        let reply: api::ServerReply = server.recv();
        let callback = match reply.kind.unwrap() {
            api::server_reply::Kind::Ok(callback) => callback.kind.unwrap(),
            api::server_reply::Kind::Error(error) => {
                seen.error = Some(error.reason);
                break;
            }
        };
        match callback {
            api::client_callback::Kind::Io(io) => {
                let posix = match io.kind.unwrap() {
                    api::on_io_request::Kind::Posix(posix) => posix,
                    // The host function "zkjit::reverse" of host_function.elf.
                    api::on_io_request::Kind::Slice(slice) => {
                        assert_eq!(slice.name, "zkjit::reverse");
                        let mut answer = slice.from_guest;
                        answer.reverse();
                        server.send(&api::OnIoReply {
                            kind: Some(api::on_io_reply::Kind::Ok(answer)),
                        });
                        continue;
                    }
                    api::on_io_request::Kind::Coprocessor(request) => {
                        let Some(api::coprocessor_request::Kind::ProveKeccak(request)) =
                            request.kind
                        else {
                            panic!("a coprocessor request without a keccak proof");
                        };
                        seen.keccak_proofs.push(request);
                        server.send(&api::OnIoReply {
                            kind: Some(api::on_io_reply::Kind::Ok(Vec::new())),
                        });
                        continue;
                    }
                    _ => panic!("an I/O request other than posix, slice or coprocessor"),
                };
                let bytes = match posix.cmd.unwrap().kind.unwrap() {
                    api::posix_cmd::Kind::Read(n) => {
                        let n = (n as usize).min(stdin.len());
                        let (read, rest) = stdin.split_at(n);
                        stdin = rest;
                        read.to_vec()
                    }
                    api::posix_cmd::Kind::Write(bytes) => {
                        if posix.fd == 1 {
                            seen.stdout.extend(bytes);
                        }
                        Vec::new()
                    }
                };
                server.send(&api::OnIoReply {
                    kind: Some(api::on_io_reply::Kind::Ok(bytes)),
                });
            }
            api::client_callback::Kind::SegmentDone(done) => {
                let mut info = done.segment.unwrap();
                let Some(api::asset::Kind::Inline(bytes)) = info.segment.take().unwrap().kind
                else {
                    panic!("a segment not inline");
                };
                seen.segments.push((info, bytes));
                server.send(&api::GenericReply {
                    kind: Some(api::generic_reply::Kind::Ok(())),
                });
            }
            api::client_callback::Kind::SessionDone(done) => {
                seen.session = done.session;
                break;
            }
            api::client_callback::Kind::ProveDone(_) => panic!("a prove reply to an execute"),
        }
    }
    let (status, stderr) = server.finish();
    assert_eq!(status, Some(0), "{stderr}");
    seen
}

/// `elf` under risc0's v1compat kernel, as risc0 host programs pass guests.
fn r0bf(elf: &[u8]) -> Vec<u8> {
    ProgramBinary::new(elf, V1COMPAT_ELF).encode()
}

/// The same run in-process: its segments and report.
fn in_process(
    binary: &[u8],
    stdin: &[u8],
    args: &[&str],
    po2: u32,
) -> (Vec<Segment>, zkjit::Report) {
    let program = Program::from_bytes(binary, false, KERNEL_ELF, false).unwrap();
    let config = Config {
        input: Input::Bytes(stdin.to_vec()),
        args: args.iter().map(|a| a.to_string()).collect(),
        capture_output: true,
        po2: Some(po2),
        ..Config::default()
    };
    let mut session = Session::new(&program, config).unwrap();
    let segments = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = segments.clone();
    session
        .on_segment(move |segment| {
            kept.lock().unwrap().push(segment);
            Ok(())
        })
        .unwrap();
    let report = session.run();
    let segments = std::mem::take(&mut *segments.lock().unwrap());
    (segments, report)
}

#[test]
fn the_version_ends_in_the_protocol_version_risc0_zkvm_checks() {
    let out = Command::new(SERVER).arg("--version").output().unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    // risc0-zkvm takes the last word of the line as the server's version.
    let version = line.trim_end().rsplit(' ').next().unwrap();
    assert!(version.starts_with("3.0."), "{line:?}");
    assert!(line.ends_with('\n'));
}

#[test]
fn an_execution_serves_the_clients_files_and_ends_with_the_session() {
    for engine in ["jit", "interp"] {
        let binary = r0bf(&common::guest("echo"));
        let input = b"through the client\n";
        let seen = execute(binary.clone(), input, &[], 16, engine);
        assert_eq!(seen.error, None);
        let (segments, report) = in_process(&binary, input, &[], 16);
        // stdout came to the client, as the guest wrote it.
        assert_eq!(seen.stdout, report.stdout);
        assert!(!seen.stdout.is_empty());
        // One SegmentDone per segment, in order, each its segment.
        assert_eq!(seen.segments.len(), segments.len());
        for ((info, bytes), segment) in seen.segments.iter().zip(&segments) {
            assert_eq!(info.index as u64, segment.index);
            assert_eq!(info.po2, segment.po2);
            assert_eq!(info.cycles, segment.suspend_cycle);
            // risc0-zkvm's wrapper, in bincode: the index (u32), the
            // segment, its output (none: echo sets no output digest).
            let inner = bincode::serialize(segment).unwrap();
            assert_eq!(bytes[..4], (segment.index as u32).to_le_bytes());
            assert_eq!(bytes[4..bytes.len() - 1], inner, "segment {}", info.index);
            assert_eq!(bytes.last(), Some(&0));
        }
        let session = seen.session.unwrap();
        assert_eq!(session.segments as usize, segments.len());
        assert_eq!(
            session.exit_code.unwrap().kind,
            Some(base::exit_code::Kind::Halted(0))
        );
        let Some(api::asset::Kind::Inline(claim)) = session.receipt_claim.unwrap().kind else {
            panic!("an inline claim");
        };
        let claim = pb::ReceiptClaim::decode(claim.as_slice()).unwrap();
        let Some(pb::maybe_pruned::Kind::Value(pre)) = claim.pre.unwrap().kind else {
            panic!("a pre state value");
        };
        let pre = pb::SystemState::decode(pre.as_slice()).unwrap();
        let image = report.image.unwrap();
        assert_eq!(
            pre.merkle_root.unwrap().words,
            image.pre_state_root.as_words()
        );
    }
}

#[test]
fn a_guest_panic_comes_back_as_the_local_executors_error() {
    let seen = execute(r0bf(&common::guest("trap")), b"", &["panic"], 16, "jit");
    assert_eq!(
        seen.error.as_deref(),
        Some("Guest panicked: something went wrong")
    );
    assert!(seen.session.is_none());
}

#[test]
fn a_client_of_another_version_is_refused_with_a_reason() {
    let mut server = Server::spawn(&[]);
    let reply = server.hello((2, 3, 0));
    let Some(api::hello_reply::Kind::Error(error)) = reply.kind else {
        panic!("a hello error");
    };
    assert!(error.reason.contains("risc0-zkvm 3.0"), "{}", error.reason);
    assert!(error.reason.contains("2.3.0"), "{}", error.reason);
    let (status, stderr) = server.finish();
    assert_eq!(status, Some(1));
    assert!(stderr.contains("2.3.0"), "{stderr}");
}

#[test]
fn a_closed_connection_or_a_malformed_message_ends_the_server_with_an_error() {
    let server = Server::spawn(&[]);
    let (status, stderr) = server.finish();
    assert_eq!(status, Some(1));
    assert!(stderr.contains("closed the connection"), "{stderr}");

    let mut server = Server::spawn(&[]);
    server
        .stream
        .write_all(&[5, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff])
        .unwrap();
    let (status, stderr) = server.finish();
    assert_eq!(status, Some(1));
    assert!(stderr.contains("malformed message"), "{stderr}");
}

/// A verify request, which zkjit-r0vm does not serve itself.
fn verify_request() -> api::ServerRequest {
    api::ServerRequest {
        kind: Some(api::server_request::Kind::Verify(api::VerifyRequest {
            receipt: None,
            image_id: None,
        })),
    }
}

#[test]
fn other_requests_are_refused_saying_how_to_forward_them() {
    let mut server = Server::spawn(&[]);
    server.hello((3, 0, 0));
    server.send(&verify_request());
    // Every reply type has its error as field 2, a GenericError.
    let error = server.recv_error();
    assert!(
        error.reason.contains("ZKJIT_R0VM_FORWARD"),
        "{}",
        error.reason
    );
    assert!(error.reason.contains("verify"), "{}", error.reason);
    assert_eq!(server.finish().0, Some(0));
}

#[test]
fn other_requests_go_to_the_r0vm_forwarded_to() {
    // Forwarded to a second zkjit-r0vm, which refuses the request itself:
    // its answer comes back through the first.
    let mut server = Server::spawn(&[("ZKJIT_R0VM_FORWARD", SERVER)]);
    server.hello((3, 0, 6));
    server.send(&verify_request());
    let error = server.recv_error();
    assert!(
        error.reason.contains("ZKJIT_R0VM_FORWARD"),
        "{}",
        error.reason
    );
    assert_eq!(server.finish().0, Some(0));
}

#[test]
fn the_session_limit_stops_a_run_as_the_local_executor_does() {
    let seen = execute_with(r0bf(&common::guest("hello")), b"", &[], 16, "jit", |env| {
        env.session_limit = Some(1000)
    });
    assert_eq!(
        seen.error.as_deref(),
        Some("Session limit exceeded: 1000 >= 1000")
    );
}

#[test]
fn a_forward_target_that_does_not_serve_is_a_clear_error() {
    let mut server = Server::spawn(&[("ZKJIT_R0VM_FORWARD", "/bin/false")]);
    server.hello((3, 0, 6));
    server.send(&verify_request());
    // The client hears why, as the error of its request.
    let error = server.recv_error();
    assert!(
        error
            .reason
            .starts_with("forwarding verify receipts to /bin/false: "),
        "{}",
        error.reason
    );
    assert!(error.reason.contains("exited"), "{}", error.reason);
    let (status, stderr) = server.finish();
    assert_eq!(status, Some(0));
    assert!(stderr.contains(&error.reason), "{stderr}");
}

#[test]
fn host_functions_are_answered_by_the_client() {
    for engine in ["jit", "interp"] {
        let text = "zkjit r0vm host function";
        let seen = execute(
            r0bf(&common::guest("host_function")),
            b"",
            &[text],
            16,
            engine,
        );
        assert_eq!(seen.error, None);
        // Asked for in two pieces, the first as long as the guest's buffer.
        assert_eq!(
            String::from_utf8(seen.stdout).unwrap(),
            "24 bytes in 12 + 12: noitcnuf tsoh mv0r tijkz\n"
        );
    }
}

/// The assumptions a session's receipt claim lists, as (claim, control
/// root) words; `None` without an output.
fn claimed_assumptions(seen: &Seen) -> Option<Vec<(Vec<u32>, Vec<u32>)>> {
    let session = seen.session.as_ref().expect("a session");
    let Some(api::asset::Kind::Inline(claim)) = session.receipt_claim.clone().unwrap().kind else {
        panic!("an inline claim");
    };
    let value = |maybe: Option<pb::MaybePruned>| match maybe.and_then(|m| m.kind) {
        Some(pb::maybe_pruned::Kind::Value(bytes)) => bytes,
        other => panic!("a value, not {other:?}"),
    };
    let claim = pb::ReceiptClaim::decode(claim.as_slice()).unwrap();
    let output = pb::Output::decode(value(Some(claim.output?)).as_slice()).unwrap();
    let assumptions = pb::Assumptions::decode(value(output.assumptions).as_slice()).unwrap();
    Some(
        assumptions
            .inner
            .into_iter()
            .map(|assumption| {
                let assumption =
                    pb::Assumption::decode(value(Some(assumption)).as_slice()).unwrap();
                (
                    assumption.claim.unwrap().words,
                    assumption.control_root.unwrap().words,
                )
            })
            .collect(),
    )
}

/// stdin for keccak_batches.elf: `n` permutations, then a root assumption.
fn keccak_input(n: u32, root: [u32; 16]) -> Vec<u8> {
    let mut stdin = n.to_le_bytes().to_vec();
    stdin.extend(root.iter().flat_map(|w| w.to_le_bytes()));
    stdin
}

#[test]
fn keccak_batches_go_to_the_clients_coprocessor_cut_for_its_proof_size() {
    for engine in ["jit", "interp"] {
        let root = [7u32; 16];
        let seen = execute_with(
            r0bf(&common::guest("keccak_batches")),
            &keccak_input(200, root),
            &[],
            16,
            engine,
            |env| {
                env.coprocessor = true;
                env.keccak_max_po2 = Some(14);
            },
        );
        assert_eq!(seen.error, None);
        // 2^14 cycles hold 81 permutations of 200: batches of 81, 81, 38.
        let sizes: Vec<usize> = seen
            .keccak_proofs
            .iter()
            .map(|p| p.input.len() / 200)
            .collect();
        assert_eq!(sizes, [81, 81, 38]);
        assert!(seen.keccak_proofs.iter().all(|p| p.po2 == 14));
        // Each input is the previous permutation's output, from zero.
        let first = &seen.keccak_proofs[0].input;
        assert!(first[..200].iter().all(|&b| b == 0));
        let mut state = [0u64; 25];
        keccak::f1600(&mut state);
        let second: Vec<u8> = state.iter().flat_map(|l| l.to_le_bytes()).collect();
        assert_eq!(first[200..400], second[..]);
        // A root the coprocessor proves stays an assumption of the claim.
        let root_words = (root[..8].to_vec(), root[8..].to_vec());
        assert_eq!(claimed_assumptions(&seen), Some(vec![root_words]));
    }
}

#[test]
fn a_keccak_proof_size_the_circuit_lacks_is_refused() {
    let seen = execute_with(
        r0bf(&common::guest("keccak_batches")),
        &keccak_input(1, [0; 16]),
        &[],
        16,
        "jit",
        |env| env.keccak_max_po2 = Some(13),
    );
    let error = seen.error.expect("an error");
    assert!(
        error.contains("po2 13") && error.contains("14 to 18"),
        "{error}"
    );
}

#[test]
fn proven_assumptions_resolve_claims_and_leave_the_claim_unresolved_ones() {
    let asset = |message: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = Vec::new();
        message(&mut bytes);
        Some(api::Asset {
            kind: Some(api::asset::Kind::Inline(bytes)),
        })
    };
    let digest = |word: u32| base::Digest {
        words: vec![word; 8],
    };
    let unresolved = api::AssumptionReceipt {
        kind: Some(api::assumption_receipt::Kind::Unresolved(
            asset(&|bytes| {
                pb::Assumption {
                    claim: Some(digest(0x22)),
                    control_root: Some(digest(0x5a)),
                }
                .encode(bytes)
                .unwrap()
            })
            .unwrap(),
        )),
    };
    let fake = api::AssumptionReceipt {
        kind: Some(api::assumption_receipt::Kind::Proven(
            asset(&|bytes| {
                pb::InnerReceipt {
                    kind: Some(pb::inner_receipt::Kind::Fake(pb::FakeReceipt {
                        claim: Some(pb::MaybePruned {
                            kind: Some(pb::maybe_pruned::Kind::Pruned(digest(0x33))),
                        }),
                    })),
                }
                .encode(bytes)
                .unwrap()
            })
            .unwrap(),
        )),
    };
    // The guest verifies the fake receipt's claim (any control root), then
    // the unresolved claim with a control root of zero.
    let mut stdin = 2u32.to_le_bytes().to_vec();
    for (claim, root) in [(0x33u32, 0u32), (0x22, 0)] {
        stdin.extend([claim; 8].iter().flat_map(|w| w.to_le_bytes()));
        stdin.extend([root; 8].iter().flat_map(|w| w.to_le_bytes()));
    }
    for engine in ["jit", "interp"] {
        let seen = execute_with(
            r0bf(&common::guest("verify_claims")),
            &stdin,
            &[],
            16,
            engine,
            |env| env.assumptions = vec![unresolved.clone(), fake.clone()],
        );
        assert_eq!(seen.error, None);
        // Only the unresolved claim, as the environment gave it (the
        // guest asked for any control root).
        assert_eq!(
            claimed_assumptions(&seen),
            Some(vec![(vec![0x22; 8], vec![0x5a; 8])])
        );
    }
    // Asked for with a control root, a fake receipt resolves nothing.
    let mut stdin = 1u32.to_le_bytes().to_vec();
    stdin.extend([0x33u32; 8].iter().flat_map(|w| w.to_le_bytes()));
    stdin.extend([0x5au32; 8].iter().flat_map(|w| w.to_le_bytes()));
    let seen = execute_with(
        r0bf(&common::guest("verify_claims")),
        &stdin,
        &[],
        16,
        "jit",
        |env| env.assumptions = vec![fake.clone()],
    );
    let error = seen.error.expect("an error");
    assert!(
        error.contains("no assumption resolves claim 33000000"),
        "{error}"
    );
}
