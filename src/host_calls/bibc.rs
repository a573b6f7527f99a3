//! Bigint programs ("bibc"): the nondeterministic half of a BIGINT call.
//! A program is a header, input and type descriptions, 64-bit constants and
//! a list of operations in SSA form (each operation's result is its index),
//! and computes with signed integers of any size: loads from and stores to
//! memory arenas, constants, add, subtract, multiply, truncating quotient
//! and remainder, and modular inverse. Decoding and evaluation report a
//! malformed program as an error, never a panic.

use dashu_int::ops::{ExtendedGcd, RemEuclid, UnsignedAbs};
use dashu_int::{IBig, UBig};

/// The first bytes of every program.
const MAGIC: &[u8; 4] = b"bibc";
/// The only version there is.
const VERSION: u32 = 1;
/// Bytes of an input description (label, bit width, minimum bits, public).
const INPUT_BYTES: usize = 16;
/// Bytes of a type description (coefficients, then three bounds).
const TYPE_BYTES: usize = 32;

/// What an operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpCode {
    /// `b` 64-bit constants from index `a`, least significant first.
    Const,
    /// A value from memory: arena `a >> 16`, offset `a & 0xffff` (in
    /// 16-byte units), as wide as the result type.
    Load,
    /// Stores the absolute value of result `b` where `Load` would read.
    Store,
    Add,
    Sub,
    Mul,
    /// The remainder of `a / b`, with the sign of `a`.
    Rem,
    /// `a / b`, rounded towards zero.
    Quo,
    /// The inverse of `|a|` modulo `|b|`.
    Inv,
}

impl OpCode {
    fn from_bits(bits: u64) -> Option<Self> {
        Some(match bits {
            0x2 => OpCode::Const,
            0x3 => OpCode::Load,
            0x4 => OpCode::Store,
            0x8 => OpCode::Add,
            0x9 => OpCode::Sub,
            0xa => OpCode::Mul,
            0xb => OpCode::Rem,
            0xc => OpCode::Quo,
            0xe => OpCode::Inv,
            _ => return None,
        })
    }
}

/// One operation.
#[derive(Clone, Copy, Debug)]
pub struct Op {
    pub code: OpCode,
    /// Index of the result type (for loads and stores: their width).
    pub result_type: usize,
    pub a: usize,
    pub b: usize,
}

/// A decoded program.
#[derive(Debug)]
pub struct Program {
    /// Each type's coefficient count: a load or store of the type moves
    /// that many bytes, rounded up to 16.
    pub type_coeffs: Vec<u64>,
    pub constants: Vec<u64>,
    pub ops: Vec<Op>,
}

/// Where a program's loads and stores go.
pub trait Arenas {
    /// The `bytes` bytes (a multiple of 16) of arena `arena` at `offset`.
    fn load(&mut self, arena: u32, offset: u32, bytes: u32) -> Result<UBig, String>;
    /// Stores `value` in `bytes` bytes of arena `arena` at `offset`.
    fn store(&mut self, arena: u32, offset: u32, bytes: u32, value: &UBig) -> Result<(), String>;
}

/// Reads little-endian fields from a byte slice.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let end =
            end.ok_or_else(|| format!("the program ends early, at byte {}", self.bytes.len()))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    /// A count of items of `size` bytes, if the rest of the program can hold them.
    fn count(&mut self, size: usize) -> Result<usize, String> {
        let count = self.u32()? as usize;
        match count.checked_mul(size) {
            Some(bytes) if bytes <= self.bytes.len() => Ok(count),
            _ => Err(format!("a count of {count} is more than the program holds")),
        }
    }
}

impl Program {
    /// Decodes `bytes`; `Err` names what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(4)? != MAGIC {
            return Err("not a bigint program (no \"bibc\" magic)".into());
        }
        let version = r.u32()?;
        if version != VERSION {
            return Err(format!("bigint program version {version}, not {VERSION}"));
        }
        let inputs = r.count(INPUT_BYTES)?;
        let types = r.count(TYPE_BYTES)?;
        let constants = r.count(8)?;
        let ops = r.count(8)?;
        r.take(inputs * INPUT_BYTES)?;
        let mut type_coeffs = Vec::with_capacity(types);
        for _ in 0..types {
            type_coeffs.push(r.u64()?);
            r.take(TYPE_BYTES - 8)?;
        }
        let constants = (0..constants).map(|_| r.u64()).collect::<Result<_, _>>()?;
        let ops = (0..ops)
            .map(|index| {
                let bits = r.u64()?;
                let code = OpCode::from_bits(bits & 0xf)
                    .ok_or_else(|| format!("operation {index} has no opcode {:#x}", bits & 0xf))?;
                Ok(Op {
                    code,
                    result_type: ((bits >> 4) & 0xfff) as usize,
                    a: ((bits >> 16) & 0xff_ffff) as usize,
                    b: ((bits >> 40) & 0xff_ffff) as usize,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            type_coeffs,
            constants,
            ops,
        })
    }

    /// Runs the program against `arenas`.
    pub fn eval(&self, arenas: &mut impl Arenas) -> Result<(), String> {
        let mut values: Vec<IBig> = Vec::with_capacity(self.ops.len());
        for (index, op) in self.ops.iter().enumerate() {
            let operand = |which: usize| {
                values.get(which).ok_or_else(|| {
                    format!("operation {index} uses result {which}, not computed before it")
                })
            };
            let width = || {
                self.type_coeffs
                    .get(op.result_type)
                    .map(|coeffs| coeffs.next_multiple_of(16) as u32)
                    .ok_or_else(|| format!("operation {index} has no type {}", op.result_type))
            };
            let (arena, offset) = ((op.a >> 16) as u32, (op.a & 0xffff) as u32);
            let value = match op.code {
                OpCode::Const => {
                    let words = op
                        .a
                        .checked_add(op.b)
                        .and_then(|end| self.constants.get(op.a..end))
                        .ok_or_else(|| format!("operation {index} reads constants past the end"))?;
                    let digits: Vec<u32> = words
                        .iter()
                        .flat_map(|w| [*w as u32, (*w >> 32) as u32])
                        .collect();
                    IBig::from(from_limbs(&digits))
                }
                OpCode::Load => IBig::from(arenas.load(arena, offset, width()?)?),
                OpCode::Store => {
                    // (A result not computed yet reads as zero, as in the
                    // reference, while it is one of the program's.)
                    let value = match values.get(op.b) {
                        Some(value) => value.unsigned_abs(),
                        None if op.b < self.ops.len() => UBig::ZERO,
                        None => {
                            return Err(format!(
                            "operation {index} stores result {}, which the program does not have",
                            op.b
                        ))
                        }
                    };
                    arenas.store(arena, offset, width()?, &value)?;
                    IBig::ZERO
                }
                OpCode::Add => operand(op.a)? + operand(op.b)?,
                OpCode::Sub => operand(op.a)? - operand(op.b)?,
                OpCode::Mul => operand(op.a)? * operand(op.b)?,
                OpCode::Rem | OpCode::Quo => {
                    let (lhs, rhs) = (operand(op.a)?, operand(op.b)?);
                    if *rhs == IBig::ZERO {
                        return Err(format!("operation {index} divides by zero"));
                    }
                    match op.code {
                        OpCode::Rem => lhs % rhs,
                        _ => lhs / rhs,
                    }
                }
                OpCode::Inv => {
                    let (lhs, rhs) = (operand(op.a)?.unsigned_abs(), operand(op.b)?.unsigned_abs());
                    let inverse = mod_inverse(&lhs, &rhs).ok_or_else(|| {
                        format!("operation {index}: {lhs} has no inverse modulo {rhs}")
                    })?;
                    IBig::from(inverse)
                }
            };
            values.push(value);
        }
        Ok(())
    }
}

/// The number whose 32-bit limbs, least significant first, are `limbs`.
pub fn from_limbs(limbs: &[u32]) -> UBig {
    let bytes: Vec<u8> = limbs.iter().flat_map(|l| l.to_le_bytes()).collect();
    UBig::from_le_bytes(&bytes)
}

/// The 32-bit limbs of `value`, least significant first, none above its
/// highest non-zero one (as the reference counts a value's size).
pub fn to_limbs(value: &UBig) -> Vec<u32> {
    let bytes = value.to_le_bytes();
    let mut limbs: Vec<u32> = bytes
        .chunks(4)
        .map(|c| {
            let mut word = [0u8; 4];
            word[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(word)
        })
        .collect();
    while limbs.last() == Some(&0) {
        limbs.pop();
    }
    limbs
}

/// The inverse of `a` modulo `m` (of `a mod m`, as the reference takes it):
/// none when they are not coprime or `m` is 0; 0 modulo 1.
fn mod_inverse(a: &UBig, m: &UBig) -> Option<UBig> {
    if *m == UBig::ZERO {
        return None;
    }
    if *m == UBig::ONE {
        return Some(UBig::ZERO);
    }
    let a = a % m;
    if a == UBig::ZERO {
        return None;
    }
    let (gcd, coefficient, _) = (&a).gcd_ext(m);
    (gcd == UBig::ONE).then(|| coefficient.rem_euclid(IBig::from(m.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limbs_round_trip() {
        for limbs in [vec![], vec![1], vec![0, 0, 5], vec![u32::MAX; 9]] {
            assert_eq!(to_limbs(&from_limbs(&limbs)), limbs);
        }
        assert_eq!(to_limbs(&from_limbs(&[7, 0, 0])), vec![7]);
    }

    #[test]
    fn inverses_as_the_reference_takes_them() {
        let inv = |a: u64, m: u64| mod_inverse(&UBig::from(a), &UBig::from(m));
        assert_eq!(inv(3, 7), Some(UBig::from(5u8)));
        assert_eq!(inv(10, 7), Some(UBig::from(5u8)), "reduced first");
        assert_eq!(inv(0, 1), Some(UBig::ZERO));
        assert_eq!(inv(4, 8), None);
        assert_eq!(inv(0, 7), None);
        assert_eq!(inv(5, 0), None);
    }

    #[test]
    fn a_malformed_program_is_an_error() {
        assert!(Program::decode(b"bibx").unwrap_err().contains("magic"));
        assert!(Program::decode(b"bibc\x01\0\0\0")
            .unwrap_err()
            .contains("ends early"));
        let mut huge = b"bibc\x01\0\0\0".to_vec();
        huge.extend(u32::MAX.to_le_bytes());
        assert!(Program::decode(&huge)
            .unwrap_err()
            .contains("more than the program holds"));
    }
}
