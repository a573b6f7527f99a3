//! Host functions the embedder answers: risc0-zkvm's slice I/O
//! (`ExecutorEnvBuilder::io_callback`), a software syscall of any name
//! whose handler takes the guest's bytes and returns bytes for it. It
//! takes two calls, as in risc0-zkvm: the first hands over the guest's
//! bytes (`a3`, `a4` bytes) and returns the length of the answer, the
//! second (with a buffer that size) returns the answer, and further calls
//! the rest of it, while any is left.

use std::io;

use super::{invalid, user_bytes, GuestView, SyscallError};
use crate::host::HostIo;
use crate::platform::reg;

/// A host function: the guest's bytes in, the answer out.
pub type SliceHandler = Box<dyn FnMut(&[u8]) -> io::Result<Vec<u8>>>;

/// A host function and the answer it is handing back.
pub struct SliceIo {
    handler: SliceHandler,
    /// The answer of the last first call, and how much of it was handed back.
    pending: Option<(Vec<u8>, usize)>,
}

impl SliceIo {
    /// The host function `handler`.
    pub fn new(handler: SliceHandler) -> Self {
        Self {
            handler,
            pending: None,
        }
    }
}

impl HostIo {
    /// Serves the host function registered as `name`.
    pub(super) fn sys_slice_io(
        &mut self,
        name: &str,
        guest: &mut dyn GuestView,
        to_guest: &mut [u8],
    ) -> Result<(u32, u32), SyscallError> {
        let slice_io = self.slice_io.get_mut(name).expect("a registered name");
        match slice_io.pending.take() {
            None => {
                if !to_guest.is_empty() {
                    return invalid(format!(
                        "host function {name}: the first call takes no host-to-guest buffer"
                    ));
                }
                let from_guest = user_bytes(guest, reg::A3, reg::A4)?;
                let answer = (slice_io.handler)(&from_guest)
                    .map_err(|e| SyscallError::Io(format!("host function {name}: {e}")))?;
                let length = answer.len() as u32;
                slice_io.pending = Some((answer, 0));
                Ok((length, 0))
            }
            Some((answer, handed)) => {
                let size = to_guest.len().min(answer.len() - handed);
                to_guest[..size].copy_from_slice(&answer[handed..handed + size]);
                if handed + size < answer.len() {
                    slice_io.pending = Some((answer, handed + size));
                }
                Ok((size as u32, 0))
            }
        }
    }
}
