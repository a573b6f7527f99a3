//! Composition: SYS_VERIFY_INTEGRITY and SYS_VERIFY_INTEGRITY2, with which a
//! guest verifies the claim of another receipt (by its digest, and the
//! control root of the recursion programs it accepts, zero for any). The
//! first needs the claim among the run's assumptions (`--assumption`), as
//! risc0-zkvm's executor needs a receipt added to the environment; the
//! second records the claim as an assumption for the prover to resolve.
//! Both list what was used in the report.

use super::{invalid, GuestView, SyscallError};
use crate::host::HostIo;
use crate::platform::reg;

/// A receipt claim a guest may verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assumption {
    /// The claim's digest.
    pub claim: [u8; 32],
    /// The control root of the receipt's recursion programs (zero: not
    /// known, which only a request for any control root matches).
    pub control_root: [u8; 32],
    /// Whether the host holds a receipt proving it (risc0's proven
    /// assumption), so that a session's claim need not list it.
    pub proven: bool,
}

/// A claim the guest verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsedAssumption {
    /// As the guest asked for it (a control root of zero: any).
    pub requested: Assumption,
    /// The assumption of the environment that resolved it (the request
    /// itself for SYS_VERIFY_INTEGRITY2): risc0-zkvm lists the requests in
    /// a segment's output and these in a session's claim.
    pub resolved_by: Assumption,
}

impl Assumption {
    /// Parses `CLAIM[:CONTROL_ROOT]`, each 64 hex digits.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (claim, root) = match text.split_once(':') {
            Some((claim, root)) => (claim, Some(root)),
            None => (text, None),
        };
        let digest = |hex: &str, what: &str| -> Result<[u8; 32], String> {
            let hex = hex.trim();
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("the {what} must be 64 hex digits, got {hex:?}"));
            }
            let mut out = [0u8; 32];
            for (i, byte) in out.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex digits");
            }
            Ok(out)
        };
        Ok(Self {
            claim: digest(claim, "claim digest")?,
            control_root: match root {
                Some(root) => digest(root, "control root")?,
                None => [0; 32],
            },
            proven: false,
        })
    }

    /// `CLAIM:CONTROL_ROOT` in hex, as `parse` reads it.
    pub fn to_hex(&self) -> String {
        let hex = |bytes: &[u8; 32]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        format!("{}:{}", hex(&self.claim), hex(&self.control_root))
    }
}

impl HostIo {
    pub(super) fn sys_verify_integrity(
        &mut self,
        guest: &mut dyn GuestView,
        record_only: bool,
    ) -> Result<(u32, u32), SyscallError> {
        let name = if record_only {
            "SYS_VERIFY_INTEGRITY2"
        } else {
            "SYS_VERIFY_INTEGRITY"
        };
        let at = guest.user_reg(reg::A3);
        let Some(bytes) = guest.bytes(at, 64) else {
            return invalid(format!(
                "{name}: claim and control root at {at:#010x} are out of range"
            ));
        };
        let wanted = Assumption {
            claim: bytes[..32].try_into().expect("32 bytes"),
            control_root: bytes[32..].try_into().expect("32 bytes"),
            proven: false,
        };
        let resolved_by = if record_only {
            wanted
        } else {
            let any_root = wanted.control_root == [0; 32];
            let found = self.assumptions.iter().find(|a| {
                a.claim == wanted.claim && (any_root || a.control_root == wanted.control_root)
            });
            match found {
                Some(found) => *found,
                None => {
                    return invalid(format!(
                        "{name}: no assumption resolves claim {} (give it with --assumption CLAIM[:CONTROL_ROOT])",
                        wanted.to_hex()
                    ))
                }
            }
        };
        // Most recent first, as risc0-zkvm lists them.
        self.assumptions_used.insert(
            0,
            UsedAssumption {
                requested: wanted,
                resolved_by,
            },
        );
        Ok((0, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumptions_parse_with_and_without_a_control_root() {
        let claim = "ab".repeat(32);
        let a = Assumption::parse(&claim).unwrap();
        assert_eq!((a.claim, a.control_root), ([0xab; 32], [0; 32]));
        let b = Assumption::parse(&format!("{claim}:{}", "01".repeat(32))).unwrap();
        assert_eq!(b.control_root, [1; 32]);
        assert_eq!(Assumption::parse(&b.to_hex()).unwrap(), b);
        assert!(Assumption::parse("abc")
            .unwrap_err()
            .contains("64 hex digits"));
        assert!(Assumption::parse(&format!("{claim}:xyz")).is_err());
    }
}
