//! The fuzz targets (`fuzz/targets.rs`) on the stable toolchain, a short
//! run each: mutated test guests for the loaders, random words for the
//! decoder, random programs with random ECALL arguments for whole runs on
//! both engines. The long runs are cargo-fuzz's (`fuzz/`, README).

#[path = "../fuzz/targets.rs"]
mod targets;

/// xorshift64*: the inputs are the same every run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn loaders_refuse_mutated_programs_without_panicking() {
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guests");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "elf"))
        .map(|path| std::fs::read(path).unwrap())
        .collect();
    seeds.sort();
    for seed in &seeds {
        targets::loaders(seed);
        for _ in 0..20 {
            let mut input = seed.clone();
            for _ in 0..1 + random.next() % 8 {
                let at = (random.next() % input.len() as u64) as usize;
                input[at] = random.next() as u8;
            }
            let cut = (random.next() % input.len() as u64) as usize;
            targets::loaders(&input);
            targets::loaders(&input[..cut]);
        }
    }
    for len in [0, 1, 4, 52, 64, 4096] {
        targets::loaders(&random.bytes(len));
    }
}

#[test]
fn the_decoder_takes_every_word() {
    let mut random = Random(1);
    targets::decoder(&random.bytes(4 * 100_000));
}

#[test]
fn random_programs_with_random_ecalls_agree_on_both_engines() {
    let mut random = Random(7);
    for _ in 0..40 {
        let len = 32 + (random.next() % 512) as usize;
        targets::runs(&random.bytes(len));
    }
}
