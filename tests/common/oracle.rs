//! The reference executor (risc0-circuit-rv32im 4.0.5) as an oracle, with
//! zkjit's own software syscalls serving its host side, for the differential
//! tests and the benchmarks.
#![allow(dead_code)]

use std::cell::RefCell;

use anyhow::anyhow;
use risc0_binfmt::{ByteAddr, MemoryImage, ProgramBinary};
use risc0_circuit_rv32im::execute::{CycleLimit, Executor, Segment, Syscall, SyscallContext};
use risc0_zkos_v1compat::V1COMPAT_ELF;
use zkjit::host::HostIo;
use zkjit::syscalls::GuestView;

/// The oracle's host: zkjit's I/O and software syscalls.
pub struct OracleHost(pub RefCell<HostIo>);

struct ContextView<'a, C>(&'a mut C);

impl<C: SyscallContext> GuestView for ContextView<'_, C> {
    fn user_reg(&mut self, idx: usize) -> u32 {
        self.0.peek_register(idx).expect("register index is valid")
    }

    fn bytes(&mut self, addr: u32, len: u32) -> Option<Vec<u8>> {
        addr.checked_add(len)?;
        self.0.peek_region(ByteAddr(addr), len as usize).ok()
    }

    fn user_cycles(&self) -> u64 {
        self.0.get_cycle()
    }
}

impl Syscall for OracleHost {
    fn host_read(
        &self,
        ctx: &mut impl SyscallContext,
        fd: u32,
        buf: &mut [u8],
    ) -> anyhow::Result<u32> {
        let mut view = ContextView(ctx);
        self.0
            .borrow_mut()
            .host_read(&mut view, fd, buf)
            .map_err(|e| anyhow!("{e:?}"))
    }

    fn host_write(
        &self,
        _ctx: &mut impl SyscallContext,
        _fd: u32,
        buf: &[u8],
    ) -> anyhow::Result<u32> {
        self.0.borrow_mut().stderr.write_all(buf)?;
        Ok(buf.len() as u32)
    }
}

/// What the oracle reports of a run.
#[derive(Debug)]
pub struct OracleRun {
    /// The guest's exit code (`u32::MAX` when stopped at a cycle limit).
    pub exit_code: u32,
    pub user_cycles: u64,
    pub paging_cycles: u64,
    pub reserved_cycles: u64,
    pub total_cycles: u64,
    pub segments: u64,
    pub journal: Vec<u8>,
    pub stdout: Vec<u8>,
    /// Memory and registers at the end.
    pub post_image: MemoryImage,
    /// The SHA-256 of each segment's encoding (`Segment::encode`), in order.
    pub segment_digests: Vec<[u8; 32]>,
    /// The session's claim: pre-state (the image ID) and post-state roots.
    pub pre_state: [u8; 32],
    pub post_state: [u8; 32],
}

/// The SHA-256 of `bytes`, to compare segments by.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

impl OracleRun {
    /// The word at `addr` in the final memory image.
    pub fn word(&mut self, addr: u32) -> u32 {
        let page = self
            .post_image
            .get_page(addr / zkjit::platform::PAGE_BYTES)
            .expect("a page of the image");
        page.load(ByteAddr(addr).waddr())
    }
}

/// The instruction headroom risc0-zkvm gives a segment of `2^po2` cycles.
pub fn max_insn_cycles(po2: u32) -> usize {
    if po2 >= 15 {
        25_000
    } else {
        2_000
    }
}

/// Runs `elf` on the oracle with segments of `2^po2` cycles: under the
/// v1compat kernel, or bare in machine mode.
pub fn run_oracle(elf: &[u8], bare: bool, io: HostIo, po2: u32) -> anyhow::Result<OracleRun> {
    run_oracle_until(elf, bare, io, po2, None)
}

/// As `run_oracle`, but stopping before the first instruction at
/// `max_cycles` user cycles when given (the run then has no exit code).
pub fn run_oracle_until(
    elf: &[u8],
    bare: bool,
    io: HostIo,
    po2: u32,
    max_cycles: Option<u64>,
) -> anyhow::Result<OracleRun> {
    let image = if bare {
        let program = risc0_binfmt::Program::load_elf(elf, u32::MAX)?;
        MemoryImage::new_kernel(program)
    } else {
        ProgramBinary::new(elf, V1COMPAT_ELF).to_image()?
    };
    run_oracle_image(image, io, po2, max_cycles)
}

/// Runs the R0BF program binary `binary` (user program and kernel) on the
/// oracle.
pub fn run_oracle_binary(binary: &[u8], io: HostIo, po2: u32) -> anyhow::Result<OracleRun> {
    let image = ProgramBinary::decode(binary)?.to_image()?;
    run_oracle_image(image, io, po2, None)
}

/// Runs memory image `image` on the oracle, as `run_oracle_until` does,
/// keeping the digest of each segment's encoding.
pub fn run_oracle_image(
    image: MemoryImage,
    io: HostIo,
    po2: u32,
    max_cycles: Option<u64>,
) -> anyhow::Result<OracleRun> {
    let mut segment_digests = Vec::new();
    let mut run = run_oracle_image_with(image, io, po2, max_cycles, |segment| {
        segment_digests.push(sha256(&segment.encode()?));
        Ok(())
    })?;
    run.segment_digests = segment_digests;
    Ok(run)
}

/// Runs memory image `image` on the oracle, handing each segment to
/// `on_segment` (as risc0-zkvm's executor does: with only executing, they
/// are dropped); `segment_digests` is left empty.
pub fn run_oracle_image_with(
    image: MemoryImage,
    io: HostIo,
    po2: u32,
    max_cycles: Option<u64>,
    on_segment: impl FnMut(Segment) -> anyhow::Result<()> + Send,
) -> anyhow::Result<OracleRun> {
    let host = OracleHost(RefCell::new(io));
    let mut executor = Executor::new(image, &host, None, Vec::new(), None);
    let result = executor.run(
        po2 as usize,
        max_insn_cycles(po2),
        max_cycles.map_or(CycleLimit::None, CycleLimit::Soft),
        on_segment,
    )?;
    let exit_code = match (result.claim.terminate_state, max_cycles) {
        (Some(terminate), _) => u32::from(terminate.a0) >> 16,
        (None, Some(_)) => u32::MAX,
        (None, None) => anyhow::bail!("no terminate state"),
    };
    let io = host.0.into_inner();
    Ok(OracleRun {
        exit_code,
        user_cycles: result.user_cycles,
        paging_cycles: result.paging_cycles,
        reserved_cycles: result.reserved_cycles,
        total_cycles: result.total_cycles,
        segments: result.segments,
        journal: io.journal,
        stdout: io.stdout.captured().to_vec(),
        post_image: result.post_image,
        segment_digests: Vec::new(),
        pre_state: result.claim.pre_state.as_bytes().try_into()?,
        post_state: result.claim.post_state.as_bytes().try_into()?,
    })
}
