//! Malformed program files are refused with one line naming the problem,
//! never a panic.

mod common;

use common::guest;
use zkjit::{Program, KERNEL_ELF};

fn load(bytes: &[u8], bare: bool) -> Result<Program, String> {
    Program::from_bytes(bytes, bare, KERNEL_ELF, false).map_err(|e| e.0)
}

/// Loading must fail with a single line that contains `needle`.
fn refused(bytes: &[u8], bare: bool, needle: &str) {
    match load(bytes, bare) {
        Ok(_) => panic!("expected refusal containing {needle:?}"),
        Err(msg) => {
            assert!(
                msg.contains(needle),
                "message {msg:?} should contain {needle:?}"
            );
            assert!(!msg.contains('\n'), "message {msg:?} should be one line");
        }
    }
}

fn put_u32(bytes: &mut [u8], offset: usize, value: u32) {
    bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

fn get_u32(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap())
}

/// Offset of the first program header of an ELF32.
fn first_phdr(bytes: &[u8]) -> usize {
    get_u32(bytes, 28) as usize
}

#[test]
fn truncated_files() {
    let elf = guest("hello");
    refused(&elf[..30], false, "truncated");
    refused(&elf[..elf.len() / 2], false, "truncated");
    refused(&elf[..0x200], false, "");
    refused(&[], false, "empty file");
    refused(b"R0BF\x01\x00", false, "R0BF: truncated");
}

#[test]
fn every_prefix_of_a_program_is_refused_or_loaded_without_panic() {
    let elf = guest("hello");
    for len in (0..elf.len()).step_by(97) {
        let _ = load(&elf[..len], false);
        let _ = load(&elf[..len], true);
    }
}

#[test]
fn wrong_architecture_or_class() {
    let mut x86 = guest("hello");
    x86[18] = 3; // e_machine = EM_386
    refused(&x86, false, "not RISC-V");
    let mut wide = guest("hello");
    wide[4] = 2; // ELFCLASS64
    refused(&wide, false, "64-bit ELF");
    let host_binary = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    refused(&host_binary, false, "64-bit ELF");
    let mut big = guest("hello");
    big[5] = 2; // ELFDATA2MSB
    refused(&big, false, "big-endian");
    let mut rvc = guest("hello");
    let flags = get_u32(&rvc, 36);
    put_u32(&mut rvc, 36, flags | 1);
    refused(&rvc, false, "compressed instructions");
}

#[test]
fn other_formats() {
    let mut macho = vec![0xcf, 0xfa, 0xed, 0xfe];
    macho.extend_from_slice(&[0; 60]);
    refused(&macho, false, "Mach-O");
    refused(b"MZ\x90\x00 this is a PE file", false, "PE");
    refused(b"#!/bin/sh\necho hi\n", false, "script");
    refused(b"hello, world", false, "not a recognised program format");
    let mut garbage = b"\x7fELF\x01\x01\x01".to_vec();
    garbage.extend_from_slice(&[0xff; 100]);
    refused(&garbage, false, "");
}

#[test]
fn entry_in_the_invalid_page() {
    let mut elf = guest("hello");
    put_u32(&mut elf, 24, 0x100);
    refused(&elf, false, "entry point 0x00000100 is in the invalid page");
    let mut bare = guest("isa_bare");
    put_u32(&mut bare, 24, 0x8000);
    refused(&bare, true, "invalid page");
}

#[test]
fn user_segments_overlapping_kernel_memory() {
    let mut elf = guest("hello");
    let ph = first_phdr(&elf);
    put_u32(&mut elf, ph + 8, 0xbfff_ff00); // p_vaddr
    put_u32(&mut elf, ph + 12, 0xbfff_ff00); // p_paddr
    refused(&elf, false, "overlaps kernel memory");
    // the kernel itself is no user program
    refused(KERNEL_ELF, false, "kernel memory");
}

#[test]
fn segments_in_the_invalid_page_or_beyond_the_file() {
    let mut elf = guest("hello");
    let ph = first_phdr(&elf);
    put_u32(&mut elf, ph + 8, 0x1000);
    refused(&elf, false, "invalid page");
    let mut elf = guest("hello");
    put_u32(&mut elf, ph + 4, 0x7fff_0000); // p_offset far past the end
    refused(&elf, false, "truncated");
}

#[test]
fn malformed_r0bf() {
    refused(b"R0BF\x02\x00\x00\x00", false, "format version 2");
    let mut header_only = b"R0BF\x01\x00\x00\x00\x04\x00\x00\x00".to_vec();
    header_only.extend_from_slice(&[9, 9, 9, 9]);
    refused(&header_only, false, "R0BF: malformed header");
    let r0bf = risc0_binfmt::ProgramBinary::new(&guest("hello"), KERNEL_ELF).encode();
    refused(&r0bf, true, "--bare needs an ELF");
    assert!(load(&r0bf, false).is_ok());
    refused(
        &r0bf[..r0bf.len() - KERNEL_ELF.len()],
        false,
        "missing the user or the kernel ELF",
    );
}
