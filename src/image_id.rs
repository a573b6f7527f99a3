//! Image IDs: the digest of a program's initial memory image, which its
//! receipts name, computed as the risc0 tools compute it (`risc0-binfmt`).

use risc0_binfmt::{MemoryImage, ProgramBinary};

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
    let digest = if bare {
        let program = risc0_binfmt::Program::load_elf(bytes, u32::MAX).map_err(failed)?;
        MemoryImage::new_kernel(program).image_id()
    } else if r0bf && !kernel_override {
        let binary = ProgramBinary::decode(bytes).map_err(failed)?;
        binary.compute_image_id().map_err(failed)?
    } else if r0bf {
        let (user, _) = split_r0bf(bytes)?;
        ProgramBinary::new(user, kernel)
            .compute_image_id()
            .map_err(failed)?
    } else {
        ProgramBinary::new(bytes, kernel)
            .compute_image_id()
            .map_err(failed)?
    };
    Ok(digest.as_bytes().try_into().expect("a digest is 32 bytes"))
}
