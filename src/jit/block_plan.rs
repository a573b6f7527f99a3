//! What the translator decides about a block before it emits any of it:
//! which register values need not be stored ([`overwritten_in_place`]),
//! how each load and store is checked ([`plan_access_checks`]), and which
//! blocks of a loop check the cycle limit ([`loop_checks`]).

use crate::decoder::Instruction;
use crate::interpreter::access_size;
use crate::platform::PAGE_BYTES;

use super::region::GuestBlock;

/// For each instruction of the block of `insns` at `start`: whether it
/// only computes a value into a register that a later instruction of the
/// block overwrites with nothing between that could leave translated code
/// (only computing instructions, none at the start of a page, where the
/// page is checked). The register file then need not see the value: a
/// block stores the registers it writes (see `Translator::dirty`) only so
/// that any way out finds them there. (`sll a4, a4, 2; add a4, a1, a4` is
/// how compilers index arrays.)
pub(super) fn overwritten_in_place(insns: &[Instruction], start: u32) -> Vec<bool> {
    let starts_page = |k: usize| (start + 4 * k as u32).is_multiple_of(PAGE_BYTES);
    (0..insns.len())
        .map(|i| {
            let rd = insns[i].rd;
            if !insns[i].op.only_computes() || rd == 0 {
                return false;
            }
            for (j, later) in insns.iter().enumerate().skip(i + 1) {
                if !later.op.only_computes() || starts_page(j) {
                    return false;
                }
                if later.rd == rd {
                    return true;
                }
            }
            false
        })
        .collect()
}

/// How the address of a load or store is checked.
#[derive(Clone, Copy, Debug)]
pub(super) enum AccessCheck {
    /// On its own: access, alignment, page state.
    Single,
    /// Here, for the whole group of accesses through the same register
    /// value (see [`plan_access_checks`]).
    Group(AccessGroup),
    /// Already checked by its group, at the group's first access.
    Covered,
}

/// Accesses of one block through the same value of one base register, at
/// offsets that are multiples of their sizes and all within 1 KiB: if both
/// ends of the offset range are accessible, the base is aligned to the
/// largest size and the pages at the ends of the loaded and stored ranges
/// are in state, every access of the group passes its own checks.
#[derive(Clone, Copy, Debug)]
pub(super) struct AccessGroup {
    /// Lowest and highest offset of any access.
    pub(super) offsets: (i32, i32),
    /// Lowest and highest offset of the loads, if any.
    pub(super) loads: Option<(i32, i32)>,
    /// Lowest and highest offset of the stores, if any.
    pub(super) stores: Option<(i32, i32)>,
    /// The largest access size.
    pub(super) align: u32,
}

fn widen(range: Option<(i32, i32)>, offset: i32) -> Option<(i32, i32)> {
    Some(range.map_or((offset, offset), |(lo, hi)| {
        (lo.min(offset), hi.max(offset))
    }))
}

/// Decides, for each instruction of a block, how its access is checked:
/// accesses through an unchanged base register are checked once, at the
/// first of them. A failed group check leaves the block at that first
/// access, and the interpreter takes it from there exactly.
pub(super) fn plan_access_checks(insns: &[Instruction]) -> Vec<AccessCheck> {
    let mut plan = vec![AccessCheck::Single; insns.len()];
    // Writes so far to each register: a base register's "value".
    let mut version = [0u32; 32];
    let mut groups: Vec<((u8, u32), Vec<usize>)> = Vec::new();
    for (k, insn) in insns.iter().enumerate() {
        let op = insn.op;
        let is_access = op.is_load() || op.is_store();
        if is_access && (insn.imm as i32).rem_euclid(access_size(op) as i32) == 0 {
            let key = (insn.rs1, version[insn.rs1 as usize]);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(k),
                None => groups.push((key, vec![k])),
            }
        }
        if op.writes_rd() && insn.rd != 0 {
            version[insn.rd as usize] += 1;
        }
    }
    for (_, members) in groups.into_iter().filter(|(_, m)| m.len() > 1) {
        let mut group = AccessGroup {
            offsets: (i32::MAX, i32::MIN),
            loads: None,
            stores: None,
            align: 1,
        };
        for &k in &members {
            let insn = &insns[k];
            let offset = insn.imm as i32;
            group.offsets = (group.offsets.0.min(offset), group.offsets.1.max(offset));
            if insn.op.is_store() {
                group.stores = widen(group.stores, offset);
            } else {
                group.loads = widen(group.loads, offset);
            }
            group.align = group.align.max(access_size(insn.op));
        }
        // Within 1 KiB, the ends' pages are the only pages touched.
        if group.offsets.1 - group.offsets.0 >= PAGE_BYTES as i32 {
            continue;
        }
        plan[members[0]] = AccessCheck::Group(group);
        for &k in &members[1..] {
            plan[k] = AccessCheck::Covered;
        }
    }
    plan
}

/// Which blocks of a loop check the cycle limit: the targets of the back
/// edges of a depth-first walk from the head. Every cycle through the loop
/// has such an edge, so between two checks no block repeats, and a check
/// covering all of the loop's instructions covers everything until the
/// next. (Marking every edge to a block found earlier, as discovery order
/// first did, checked four times a pass in modexp's multiply loops.)
pub(super) fn loop_checks(blocks: &[GuestBlock]) -> Vec<bool> {
    let successors: Vec<Vec<usize>> = blocks
        .iter()
        .map(|block| {
            block
                .static_successors()
                .into_iter()
                .filter_map(|pc| blocks.iter().position(|b| b.start == pc))
                .collect()
        })
        .collect();
    let mut checked = vec![false; blocks.len()];
    let mut visited = vec![false; blocks.len()];
    let mut on_path = vec![false; blocks.len()];
    // (block, how many of its successors have been looked at)
    let mut path = vec![(0, 0)];
    visited[0] = true;
    on_path[0] = true;
    while let Some(&mut (block, ref mut next)) = path.last_mut() {
        let Some(&to) = successors[block].get(*next) else {
            on_path[block] = false;
            path.pop();
            continue;
        };
        *next += 1;
        if on_path[to] {
            checked[to] = true;
        } else if !visited[to] {
            visited[to] = true;
            on_path[to] = true;
            path.push((to, 0));
        }
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoder::decode;
    use crate::jit::region::tests::loop_in_memory;
    use crate::platform::USER_START;

    #[test]
    fn a_value_overwritten_before_any_way_out_is_not_stored() {
        // slli a4,a4,2; add a4,a1,a4; lw a5,0(a4); slli a4,a2,2; addi a4,a4,272
        let insns = [
            0x0027_1713,
            0x00e5_8733,
            0x0007_2783,
            0x0026_1713,
            0x1107_0713,
        ]
        .map(decode);
        // (The load may leave before it writes: the add's a4 must be stored.)
        assert_eq!(
            overwritten_in_place(&insns, USER_START),
            [true, false, false, true, false]
        );
        // The page check before an instruction at a page's start may leave.
        assert_eq!(
            overwritten_in_place(&insns, USER_START + PAGE_BYTES - 4),
            [false, false, false, true, false]
        );
    }

    #[test]
    fn a_loop_checks_the_limit_once_a_pass() {
        // Every way round goes through the head: one check, there.
        assert_eq!(loop_checks(&loop_in_memory()), [true, false, false]);
    }
}
