//! The page tree's hash, many at a time: the Poseidon2 permutation over
//! BabyBear (width 24, x^7, risc0's round constants) run on 16
//! independent states side by side, one per lane, so that the compiler
//! turns each step into one vector instruction (AVX-512 when the CPU has
//! it, checked at run time). Bit-identical to `risc0-binfmt`'s page and
//! node digests, and measured at about 20 times their speed.
//!
//! Elements are kept in Montgomery form (`x * 2^32 mod p`), as risc0's
//! field does; digests hold the plain values.

use std::sync::OnceLock;

use risc0_zkp::core::digest::Digest;
use risc0_zkp::core::hash::poseidon2::{
    CELLS, M_INT_DIAG_HZN, ROUNDS_HALF_FULL, ROUNDS_PARTIAL, ROUND_CONSTANTS,
};

use crate::platform::PAGE_BYTES;

/// States hashed side by side.
const LANES: usize = 16;
/// The BabyBear prime.
const P: u32 = 0x7800_0001;
/// `p^-1 mod 2^32`, for Montgomery reduction.
const P_INV: u32 = 0x8800_0001;
/// 2^64 mod p: a Montgomery product with it puts a number in Montgomery form.
const R2: u32 = ((1u128 << 64) % P as u128) as u32;
/// Words a permutation absorbs from a page (8 words as 16 half-words).
const WORDS_PER_BLOCK: usize = 8;
/// Words in a digest.
const DIGEST_WORDS: usize = 8;

/// The constants in Montgomery form.
struct Constants {
    round: Vec<u32>,
    diagonal: [u32; CELLS],
}

fn constants() -> &'static Constants {
    static CONSTANTS: OnceLock<Constants> = OnceLock::new();
    CONSTANTS.get_or_init(|| Constants {
        round: ROUND_CONSTANTS
            .iter()
            .map(|c| c.as_u32_montgomery())
            .collect(),
        diagonal: std::array::from_fn(|i| M_INT_DIAG_HZN[i].as_u32_montgomery()),
    })
}

#[inline(always)]
fn add(a: u32, b: u32) -> u32 {
    let sum = a + b;
    if sum >= P {
        sum - P
    } else {
        sum
    }
}

/// Montgomery multiplication: `a * b / 2^32 mod p`.
#[inline(always)]
fn mul(a: u32, b: u32) -> u32 {
    let product = u64::from(a) * u64::from(b);
    let q = (product as u32).wrapping_mul(P_INV);
    let qp = u64::from(q) * u64::from(P);
    // The low halves are equal, so the difference of the high ones is
    // the exact quotient, in (-p, p).
    let (difference, borrow) = ((product >> 32) as u32).overflowing_sub((qp >> 32) as u32);
    if borrow {
        difference.wrapping_add(P)
    } else {
        difference
    }
}

/// 16 field elements, one per lane, in Montgomery form.
trait Lanes: Copy {
    fn splat(x: u32) -> Self;
    fn load(x: &[u32; LANES]) -> Self;
    fn store(self) -> [u32; LANES];
    fn add(self, other: Self) -> Self;
    fn mul(self, other: Self) -> Self;
}

/// The lanes as plain integers: what any CPU runs.
#[derive(Clone, Copy)]
struct Portable([u32; LANES]);

impl Lanes for Portable {
    #[inline(always)]
    fn splat(x: u32) -> Self {
        Self([x; LANES])
    }
    #[inline(always)]
    fn load(x: &[u32; LANES]) -> Self {
        Self(*x)
    }
    #[inline(always)]
    fn store(self) -> [u32; LANES] {
        self.0
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        Self(std::array::from_fn(|i| add(self.0[i], other.0[i])))
    }
    #[inline(always)]
    fn mul(self, other: Self) -> Self {
        Self(std::array::from_fn(|i| mul(self.0[i], other.0[i])))
    }
}

/// The lanes in one AVX-512 register.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Avx512(std::arch::x86_64::__m512i);

#[cfg(target_arch = "x86_64")]
impl Lanes for Avx512 {
    #[inline(always)]
    fn splat(x: u32) -> Self {
        // SAFETY (here and below): only reached from `permute_avx512`,
        // which runs when the CPU has AVX-512F.
        unsafe { Self(std::arch::x86_64::_mm512_set1_epi32(x as i32)) }
    }
    #[inline(always)]
    fn load(x: &[u32; LANES]) -> Self {
        unsafe { Self(std::arch::x86_64::_mm512_loadu_si512(x.as_ptr().cast())) }
    }
    #[inline(always)]
    fn store(self) -> [u32; LANES] {
        let mut out = [0u32; LANES];
        unsafe { std::arch::x86_64::_mm512_storeu_si512(out.as_mut_ptr().cast(), self.0) };
        out
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        use std::arch::x86_64::*;
        unsafe {
            let sum = _mm512_add_epi32(self.0, other.0);
            // Past p, subtracting p gives the smaller number; below it,
            // the subtraction wraps to a larger one.
            let reduced = _mm512_sub_epi32(sum, _mm512_set1_epi32(P as i32));
            Self(_mm512_min_epu32(sum, reduced))
        }
    }
    #[inline(always)]
    fn mul(self, other: Self) -> Self {
        use std::arch::x86_64::*;
        // (Macros, not closures: a closure is a function of its own,
        // without AVX-512, and the intrinsics in it would not inline.)
        macro_rules! odd_lanes {
            ($x:expr) => {
                _mm512_castps_si512(_mm512_movehdup_ps(_mm512_castsi512_ps($x)))
            };
        }
        // The high halves of 64-bit products, back in their 32-bit lanes.
        macro_rules! high_halves {
            ($odd_part:expr, $even_part:expr) => {
                _mm512_castps_si512(_mm512_mask_movehdup_ps(
                    _mm512_castsi512_ps($odd_part),
                    0x5555,
                    _mm512_castsi512_ps($even_part),
                ))
            };
        }
        unsafe {
            let p = _mm512_set1_epi32(P as i32);
            let p_inv = _mm512_set1_epi32(P_INV as i32);
            // 64-bit products of the even lanes, and of the odd ones.
            let even_product = _mm512_mul_epu32(self.0, other.0);
            let odd_product = _mm512_mul_epu32(odd_lanes!(self.0), odd_lanes!(other.0));
            let even_qp = _mm512_mul_epu32(_mm512_mul_epu32(even_product, p_inv), p);
            let odd_qp = _mm512_mul_epu32(_mm512_mul_epu32(odd_product, p_inv), p);
            let difference = _mm512_sub_epi32(
                high_halves!(odd_product, even_product),
                high_halves!(odd_qp, even_qp),
            );
            // In (-p, p): adding p to a negative one gives the smaller.
            Self(_mm512_min_epu32(
                difference,
                _mm512_add_epi32(difference, p),
            ))
        }
    }
}

type State<V> = [V; CELLS];

#[inline(always)]
fn sbox<V: Lanes>(x: V) -> V {
    let x2 = x.mul(x);
    let x4 = x2.mul(x2);
    let x6 = x4.mul(x2);
    x6.mul(x)
}

/// The external linear layer: 4x4 circulant blocks, then the sums of
/// like positions added to every block (Poseidon2's M_E).
#[inline(always)]
fn external_layer<V: Lanes>(state: &mut State<V>) {
    let zero = V::splat(0);
    let mut sums = [zero; 4];
    for block in 0..CELLS / 4 {
        let x = [
            state[4 * block],
            state[4 * block + 1],
            state[4 * block + 2],
            state[4 * block + 3],
        ];
        let t0 = x[0].add(x[1]);
        let t1 = x[2].add(x[3]);
        let t2 = x[1].add(x[1]).add(t1);
        let t3 = x[3].add(x[3]).add(t0);
        let t1_2 = t1.add(t1);
        let t0_2 = t0.add(t0);
        let t4 = t1_2.add(t1_2).add(t3);
        let t5 = t0_2.add(t0_2).add(t2);
        let out = [t3.add(t5), t5, t2.add(t4), t4];
        for j in 0..4 {
            state[4 * block + j] = out[j];
            sums[j] = sums[j].add(out[j]);
        }
    }
    for (cell, x) in state.iter_mut().enumerate() {
        *x = x.add(sums[cell % 4]);
    }
}

#[inline(always)]
fn full_round<V: Lanes>(state: &mut State<V>, round: &[u32]) {
    for (x, &constant) in state.iter_mut().zip(round) {
        *x = sbox(x.add(V::splat(constant)));
    }
    external_layer(state);
}

#[inline(always)]
fn partial_round<V: Lanes>(state: &mut State<V>, constant: u32, diagonal: &[u32; CELLS]) {
    state[0] = sbox(state[0].add(V::splat(constant)));
    // (Loops, not closures, in the vector code: see `Avx512::mul`.)
    let mut sum = state[0];
    for x in &state[1..] {
        sum = sum.add(*x);
    }
    for (x, &d) in state.iter_mut().zip(diagonal) {
        *x = sum.add(x.mul(V::splat(d)));
    }
}

/// The permutation, on 16 states at once.
#[inline(always)]
fn permute<V: Lanes>(state: &mut State<V>) {
    let constants = constants();
    external_layer(state);
    let mut round = 0;
    for _ in 0..ROUNDS_HALF_FULL {
        full_round(state, &constants.round[round * CELLS..(round + 1) * CELLS]);
        round += 1;
    }
    for _ in 0..ROUNDS_PARTIAL {
        partial_round(state, constants.round[round * CELLS], &constants.diagonal);
        round += 1;
    }
    for _ in 0..ROUNDS_HALF_FULL {
        full_round(state, &constants.round[round * CELLS..(round + 1) * CELLS]);
        round += 1;
    }
}

/// Up to 16 inputs of `WORDS` words each, lane by lane, as the cells of
/// one absorption: inputs are read `WORDS` at a time.
type Block<const N: usize> = [[u32; LANES]; N];

/// The first 8 cells of each lane's final state, as plain values.
#[inline(always)]
fn squeeze<V: Lanes>(state: &State<V>) -> Block<DIGEST_WORDS> {
    let mut out = [[0; LANES]; DIGEST_WORDS];
    for (digest_word, cell) in out.iter_mut().zip(state) {
        *digest_word = cell.mul(V::splat(1)).store();
    }
    out
}

/// The sponge over up to 16 pages at once (absent lanes hash zeros).
#[inline(always)]
fn hash_pages<V: Lanes>(group: &[&[u8]]) -> Block<DIGEST_WORDS> {
    let to_montgomery = V::splat(R2);
    let mut state: State<V> = [V::splat(0); CELLS];
    for block in 0..PAGE_BYTES as usize / 4 / WORDS_PER_BLOCK {
        let mut halves: Block<{ 2 * WORDS_PER_BLOCK }> = [[0; LANES]; 2 * WORDS_PER_BLOCK];
        for (lane, page) in group.iter().enumerate() {
            let words = &page[block * 4 * WORDS_PER_BLOCK..][..4 * WORDS_PER_BLOCK];
            for (j, word) in words.chunks_exact(4).enumerate() {
                let word = u32::from_le_bytes(word.try_into().expect("four bytes"));
                halves[2 * j][lane] = word & 0xffff;
                halves[2 * j + 1][lane] = word >> 16;
            }
        }
        for (cell, half) in state.iter_mut().zip(&halves) {
            *cell = V::load(half).mul(to_montgomery);
        }
        permute(&mut state);
    }
    squeeze(&state)
}

/// One permutation over up to 16 nodes' children (right, then left).
#[inline(always)]
fn hash_nodes<V: Lanes>(group: &[(Digest, Digest)]) -> Block<DIGEST_WORDS> {
    let to_montgomery = V::splat(R2);
    let mut inputs: Block<{ 2 * DIGEST_WORDS }> = [[0; LANES]; 2 * DIGEST_WORDS];
    for (lane, (left, right)) in group.iter().enumerate() {
        for i in 0..DIGEST_WORDS {
            inputs[i][lane] = right.as_words()[i] % P;
            inputs[DIGEST_WORDS + i][lane] = left.as_words()[i] % P;
        }
    }
    let mut state: State<V> = [V::splat(0); CELLS];
    for (cell, input) in state.iter_mut().zip(&inputs) {
        *cell = V::load(input).mul(to_montgomery);
    }
    permute(&mut state);
    squeeze(&state)
}

/// Runs `$work::<lanes>($group)` (a slice of `$input`) with the widest
/// vectors the CPU has.
macro_rules! dispatch {
    ($work:ident, $input:ty, $group:expr) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            fn avx512(group: &[$input]) -> Block<DIGEST_WORDS> {
                $work::<Avx512>(group)
            }
            #[target_feature(enable = "avx2")]
            fn avx2(group: &[$input]) -> Block<DIGEST_WORDS> {
                $work::<Portable>(group)
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F.
                unsafe { avx512($group) }
            } else if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                unsafe { avx2($group) }
            } else {
                $work::<Portable>($group)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $work::<Portable>($group)
        }
    }};
}

/// The digests of the lanes of `out` that hold inputs.
fn digests(out: &Block<DIGEST_WORDS>, lanes: usize) -> impl Iterator<Item = Digest> + '_ {
    (0..lanes).map(|lane| Digest::new(std::array::from_fn(|i| out[i][lane])))
}

/// Pages worth a second thread: below this, starting it costs more than
/// it saves.
const PAGES_PER_THREAD: usize = 2 * LANES;

/// The digests of `pages` (each `PAGE_BYTES` long), in order: the sponge
/// absorbs 8 words per permutation, each as its low and high 16 bits.
/// Many pages are hashed on two threads (the machine has two cores, and
/// execution is most often waiting for the hashing).
pub(super) fn page_digests(pages: &[&[u8]]) -> Vec<Digest> {
    if pages.len() < 2 * PAGES_PER_THREAD {
        return page_digests_here(pages);
    }
    // Split at a multiple of the lanes, so no group is partly empty.
    let half = pages.len() / 2 / LANES * LANES;
    let (first, second) = pages.split_at(half);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| page_digests_here(second));
        let mut digests = page_digests_here(first);
        digests.extend(other.join().expect("page hashing does not panic"));
        digests
    })
}

/// `page_digests` on this thread.
fn page_digests_here(pages: &[&[u8]]) -> Vec<Digest> {
    let mut out = Vec::with_capacity(pages.len());
    for group in pages.chunks(LANES) {
        out.extend(digests(&dispatch!(hash_pages, &[u8], group), group.len()));
    }
    out
}

/// The digests of page-tree nodes with children `(left, right)`, in order.
pub(super) fn node_digests(children: &[(Digest, Digest)]) -> Vec<Digest> {
    let mut out = Vec::with_capacity(children.len());
    for group in children.chunks(LANES) {
        out.extend(digests(
            &dispatch!(hash_nodes, (Digest, Digest), group),
            group.len(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use risc0_binfmt::{MemoryImage, Page, WordAddr};

    use super::*;

    /// A page of `risc0-binfmt` with `bytes`.
    fn page_of(bytes: &[u8]) -> Page {
        let mut page = Page::default();
        for (i, word) in bytes.chunks_exact(4).enumerate() {
            page.store(
                WordAddr(i as u32),
                u32::from_le_bytes(word.try_into().unwrap()),
            );
        }
        page
    }

    fn pattern(seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9e37_79b9) | 1;
        (0..PAGE_BYTES)
            .flat_map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                // Values at and past p too, and the all-ones word.
                [x, u32::MAX, P, P - 1][(x % 7 % 4) as usize].to_le_bytes()
            })
            .take(PAGE_BYTES as usize)
            .collect()
    }

    #[test]
    fn page_digests_are_risc0_binfmts() {
        // 21 pages: a full group of lanes and a partial one.
        let pages: Vec<Vec<u8>> = (0..21).map(pattern).chain([vec![0; 1024]]).collect();
        let refs: Vec<&[u8]> = pages.iter().map(Vec::as_slice).collect();
        let ours = page_digests(&refs);
        for (page, digest) in pages.iter().zip(&ours) {
            assert_eq!(*digest, page_of(page).digest());
        }
    }

    #[test]
    fn node_digests_are_risc0_binfmts() {
        // Two pages in an image: their parent's digest is a node digest.
        let (a, b) = (pattern(1), pattern(2));
        let mut image = MemoryImage::default();
        image.set_page(6, page_of(&a));
        image.set_page(7, page_of(&b));
        image.update_digests();
        let leaves = page_digests(&[&a, &b]);
        let parent = node_digests(&[(leaves[0], leaves[1])])[0];
        let leaf_parent = (1u32 << 22) / 2 + 3;
        assert_eq!(parent, *image.get_digest(leaf_parent).unwrap());
    }
}
