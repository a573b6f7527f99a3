//! Image IDs: the digest a program's receipts name for its initial memory
//! image, computed as the risc0 tools compute it (`risc0-binfmt`): the
//! system state of the image's page-tree root at pc 0.

use risc0_binfmt::{Digestible, MemoryImage, ProgramBinary, SystemState};
use risc0_zkp::core::digest::Digest;
use risc0_zkp::core::hash::sha::cpu::Impl as Sha256;

use crate::loader::{sniff, split_r0bf, LoadError, Program};

/// The image ID of program file `bytes`, as [`Program::from_bytes`] reads it:
/// an R0BF binary (with its own kernel, or `kernel` when
/// `kernel_override`), a user ELF with `kernel`, or with `bare` a
/// machine-mode ELF.
pub fn image_id(
    bytes: &[u8],
    bare: bool,
    kernel: &[u8],
    kernel_override: bool,
) -> Result<[u8; 32], LoadError> {
    // The loader's checks first, for its errors.
    Program::from_bytes(bytes, bare, kernel, kernel_override)?;
    let failed = |e: anyhow::Error| LoadError(format!("cannot compute the image ID: {e:#}"));
    let r0bf = sniff(bytes) == "R0BF";
    let mut image = if bare {
        let program = risc0_binfmt::Program::load_elf(bytes, u32::MAX).map_err(failed)?;
        MemoryImage::new_kernel(program)
    } else if r0bf && !kernel_override {
        ProgramBinary::decode(bytes)
            .and_then(|binary| binary.to_image())
            .map_err(failed)?
    } else {
        let user = if r0bf { split_r0bf(bytes)?.0 } else { bytes };
        ProgramBinary::new(user, kernel)
            .to_image()
            .map_err(failed)?
    };
    Ok(system_state_digest(&image.image_id()))
}

/// The digest of the system state at pc 0 with page-tree root `root`, as
/// a receipt's claim names a memory state: of the initial image's root,
/// the image ID.
pub fn system_state_digest(root: &Digest) -> [u8; 32] {
    let state = SystemState {
        pc: 0,
        merkle_root: *root,
    };
    state
        .digest::<Sha256>()
        .as_bytes()
        .try_into()
        .expect("a digest is 32 bytes")
}
