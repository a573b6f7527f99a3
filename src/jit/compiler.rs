//! Cranelift set-up: the native ISA, a JIT module, the signature every
//! block function shares (the `tail` calling convention, so that blocks can
//! chain with tail calls), and the trampoline Rust enters them through.

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, Signature, UserFuncName};
use cranelift_codegen::isa::{CallConv, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, FuncId, Linkage, Module};

use super::code_arena::CodeArena;
use super::code_cache::Code;
use super::region::{GuestBlock, Shape};
use super::runtime::{offsets, JitContext};
use super::translate::{Env, Translator};

type Trampoline = unsafe extern "C" fn(*mut JitContext, Code);

/// `extern "C" fn(ctx)`: records the context's data access to a page not
/// yet in the state it leaves it in, and lowers the context's cycle limit
/// by the paging it cost.
pub type PageIn = extern "C" fn(*mut JitContext);

/// Compiles guest blocks to native functions.
pub struct Compiler {
    /// Holds the code; its ISA optimises (Cranelift's `speed`).
    module: JITModule,
    /// The same target without Cranelift's optimiser (see `Build`).
    quick_isa: OwnedTargetIsa,
    context: Context,
    builder_context: FunctionBuilderContext,
    block_sig: Signature,
    note_sig: Signature,
    /// `(ctx)` with every register preserved, so that a call on a block's
    /// cold path costs its hot path nothing (the access travels in the
    /// context: argument registers would constrain the hot path too).
    page_in_sig: Signature,
    trampoline: Trampoline,
    /// The preserve-all stub that calls `PageIn`.
    page_in_stub: Code,
    /// Entry stubs' machine code to copy (`Some(None)`: none could be made).
    stub_template: Option<Option<StubTemplate>>,
    /// From where a function was written to where it runs (see
    /// `CodeArena::exec_offset`).
    exec_offset: isize,
    next_id: u32,
}

/// Loops of fewer guest instructions are compiled without Cranelift's
/// optimiser (see `Build`).
const MIN_OPTIMISED_LOOP_INSNS: usize = 16;

/// Where a loop's head goes in a 64-byte line of host code (see
/// `loop_head_padding`).
const LOOP_HEAD_IN_LINE: u32 = 40;
const LINE_BYTES: u32 = 64;

/// How Cranelift compiles a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Build {
    /// Through Cranelift's optimiser, the e-graph pass (value numbering,
    /// loop-invariant code motion, folding). It costs about a third of
    /// Cranelift's time, and pays only in loops of some size: a trace runs
    /// each instruction once an entry, and small loops come out as fast
    /// or faster without it. Big loops (sha256's rounds) need it.
    optimise: bool,
    /// Placed so that the loop's head lands at `LOOP_HEAD_IN_LINE`.
    align_loop_head: bool,
}

impl Build {
    /// Helpers: compiled once, optimised.
    const HELPER: Build = Build {
        optimise: true,
        align_loop_head: false,
    };

    /// How to compile `blocks`, shaped as `shape`.
    fn for_translation(blocks: &[GuestBlock], shape: Shape) -> Build {
        let is_loop = shape == Shape::Loop;
        let insns: usize = blocks.iter().map(|b| b.insns.len()).sum();
        Build {
            optimise: is_loop && insns >= MIN_OPTIMISED_LOOP_INSNS,
            align_loop_head: is_loop,
        }
    }
}

/// Bytes to put before a loop function's code so that its head (the lowest
/// target of a backward edge) lands at `LOOP_HEAD_IN_LINE` in a 64-byte
/// line, the function starting on a line. How a hot loop's branches fall
/// into lines moves whole guests by more than most code changes do, so
/// that without this unrelated changes that moved the code moved the
/// benchmarks; 40 measured best on their loops.
fn loop_head_padding(edges: &[(u32, u32)]) -> u32 {
    let head = edges
        .iter()
        .filter(|(from, to)| to <= from)
        .map(|&(_, to)| to)
        .min();
    head.map_or(0, |head| {
        (LINE_BYTES + LOOP_HEAD_IN_LINE - head % LINE_BYTES) % LINE_BYTES
    })
}

/// `code` after `pad` bytes that jump over themselves (x86-64: a short
/// `jmp` over `int3`s, or a `nop` for one byte); the code as it is on
/// other hosts, where `pad` is ignored.
fn padded(code: &[u8], pad: u32) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(code.len() + pad as usize);
    if cfg!(target_arch = "x86_64") {
        match pad {
            0 => {}
            1 => bytes.push(0x90),
            _ => {
                bytes.extend([0xeb, (pad - 2) as u8]);
                bytes.resize(pad as usize, 0xcc);
            }
        }
    }
    bytes.extend_from_slice(code);
    bytes
}

/// Placeholders for an entry stub's block index and loop code in the
/// template (values no real stub has: indices are below 16, code addresses
/// are user-space ones).
const STUB_INDEX_MARK: u32 = 0x5a5a_c3c3;
const STUB_TARGET_MARK: u64 = 0xa5c3_5a3c_96e1_0f78;

/// An entry stub's machine code, made once by Cranelift with placeholder
/// constants: a stub is a copy with the block index and the loop's code
/// written in their places. (Cranelift needs tens of microseconds for a
/// function of any size; a loop may need a stub for each inner block.)
struct StubTemplate {
    code: Vec<u8>,
    /// Byte offset of the 32-bit block index.
    index_at: usize,
    /// Byte offset of the 64-bit code address.
    target_at: usize,
    align: u64,
}

impl StubTemplate {
    /// The machine code of the stub for block `index` of `code`.
    fn instantiate(&self, index: u32, code: Code) -> Vec<u8> {
        let mut bytes = self.code.clone();
        bytes[self.index_at..self.index_at + 4].copy_from_slice(&index.to_le_bytes());
        bytes[self.target_at..self.target_at + 8].copy_from_slice(&(code as u64).to_le_bytes());
        bytes
    }
}

/// The body of an entry stub: leaves the block `index` in the context and
/// tail-calls the loop's code at `target` with the stub's arguments.
fn entry_stub(
    b: &mut FunctionBuilder,
    args: &[cranelift_codegen::ir::Value],
    block_sig: cranelift_codegen::ir::SigRef,
    index: u32,
    target: i64,
) {
    let flags = cranelift_codegen::ir::MemFlagsData::trusted();
    let index = b.ins().iconst(types::I32, i64::from(index));
    b.ins().store(flags, index, args[0], offsets::LOOP_ENTRY);
    let target = b.ins().iconst(types::I64, target);
    b.ins().return_call_indirect(block_sig, target, args);
}

impl Compiler {
    /// A compiler for the host machine; translated code calls `page_in`
    /// when a load or store changes a page's state.
    pub fn new(page_in: PageIn, code_arena_bytes: usize) -> Result<Self, String> {
        let mut flags = settings::builder();
        let set = |flags: &mut settings::Builder, name: &str, value: &str| {
            flags
                .set(name, value)
                .map_err(|e| format!("cranelift setting {name}: {e}"))
        };
        set(&mut flags, "opt_level", "speed")?;
        set(&mut flags, "use_colocated_libcalls", "false")?;
        set(&mut flags, "is_pic", "false")?;
        // Cranelift's tail calls rely on frame pointers.
        set(&mut flags, "preserve_frame_pointers", "true")?;
        // Block offsets and edges of the machine code: where a loop's head is.
        set(&mut flags, "machine_code_cfg_info", "true")?;
        set(
            &mut flags,
            "enable_verifier",
            if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            },
        )?;
        let make_isa = |flags: settings::Builder| {
            cranelift_native::builder()
                .map_err(|e| format!("this host is not supported by Cranelift: {e}"))?
                .finish(settings::Flags::new(flags))
                .map_err(|e| format!("cranelift ISA: {e}"))
        };
        let isa = make_isa(flags.clone())?;
        set(&mut flags, "opt_level", "none")?;
        let quick_isa = make_isa(flags)?;
        let mut builder = JITBuilder::with_isa(isa, default_libcall_names());
        // (Without the arena, Cranelift maps pages of their own for every
        // function: see `code_arena`.)
        let mut exec_offset = 0;
        match CodeArena::new(code_arena_bytes) {
            Ok(arena) => {
                exec_offset = arena.exec_offset();
                builder.memory_provider(Box::new(arena));
            }
            Err(error) => tracing::debug!(%error, "no code arena; code gets pages of its own"),
        }
        let module = JITModule::new(builder);
        let pointer = module.target_config().pointer_type();
        // (ctx, cycle budget): the cycles left under the context's limit
        // travel in a register from block to block; the count reaches the
        // context only at exits to Rust (as the limit minus the budget).
        let mut block_sig = Signature::new(CallConv::Tail);
        block_sig.params.push(AbiParam::new(pointer));
        block_sig.params.push(AbiParam::new(types::I64));
        let mut note_sig = module.make_signature();
        note_sig.params.push(AbiParam::new(pointer));
        note_sig.params.push(AbiParam::new(types::I32));
        let mut page_in_sig = Signature::new(CallConv::PreserveAll);
        page_in_sig.params.push(AbiParam::new(pointer));
        let mut compiler = Self {
            quick_isa,
            context: module.make_context(),
            module,
            builder_context: FunctionBuilderContext::new(),
            block_sig,
            note_sig,
            page_in_sig,
            trampoline: unreachable_trampoline,
            page_in_stub: std::ptr::null(),
            stub_template: None,
            exec_offset,
            next_id: 0,
        };
        compiler.trampoline = compiler.build_trampoline()?;
        compiler.page_in_stub = compiler.build_page_in_stub(page_in)?;
        Ok(compiler)
    }

    /// A preserve-all function that calls `page_in` (an `extern "C"` one).
    fn build_page_in_stub(&mut self, page_in: PageIn) -> Result<Code, String> {
        let mut sig = self.module.make_signature();
        sig.params = self.page_in_sig.params.clone();
        let pointer = self.module.target_config().pointer_type();
        self.build_helper("zkjit_page_in", self.page_in_sig.clone(), |b, args| {
            let sig = b.import_signature(sig);
            let callee = b.ins().iconst(pointer, page_in as usize as i64);
            b.ins().call_indirect(sig, callee, args);
            b.ins().return_(&[]);
        })
    }

    /// `extern "C" fn(ctx, code)`: calls a block function (tail convention).
    fn build_trampoline(&mut self) -> Result<Trampoline, String> {
        let pointer = self.module.target_config().pointer_type();
        let mut sig = self.module.make_signature();
        sig.params.push(AbiParam::new(pointer));
        sig.params.push(AbiParam::new(pointer));
        let block_sig = self.block_sig.clone();
        let code = self.build_helper("zkjit_enter", sig, |b, args| {
            let (ctx, code) = (args[0], args[1]);
            let block_sig = b.import_signature(block_sig);
            let flags = cranelift_codegen::ir::MemFlagsData::trusted();
            let budget = b.ins().load(types::I64, flags, ctx, offsets::BUDGET);
            b.ins().call_indirect(block_sig, code, &[ctx, budget]);
            b.ins().return_(&[]);
        })?;
        // SAFETY: the function was just built with exactly this signature.
        Ok(unsafe { std::mem::transmute::<*const u8, Trampoline>(code) })
    }

    /// Builds a function of one block with signature `sig`: `body` emits
    /// its instructions from the arguments, ending the function.
    fn build_helper(
        &mut self,
        name: &str,
        sig: Signature,
        body: impl FnOnce(&mut FunctionBuilder, &[cranelift_codegen::ir::Value]),
    ) -> Result<Code, String> {
        let id = self.declare(name, sig.clone())?;
        self.build_body(sig, body);
        self.define(id, Build::HELPER)
    }

    /// Builds the context's function with signature `sig` and one block:
    /// `body` emits its instructions from the arguments, ending it.
    fn build_body(
        &mut self,
        sig: Signature,
        body: impl FnOnce(&mut FunctionBuilder, &[cranelift_codegen::ir::Value]),
    ) {
        self.context.func.signature = sig;
        let mut b = FunctionBuilder::new(&mut self.context.func, &mut self.builder_context);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let args = b.block_params(entry).to_vec();
        body(&mut b, &args);
        b.finalize(self.module.target_config());
    }

    /// Declares function `name` with signature `sig` and makes it the one
    /// the context builds.
    fn declare(&mut self, name: &str, sig: Signature) -> Result<FuncId, String> {
        let id = self
            .module
            .declare_function(name, Linkage::Local, &sig)
            .map_err(|e| e.to_string())?;
        self.context.func.signature = sig;
        self.context.func.name = UserFuncName::user(0, id.as_u32());
        Ok(id)
    }

    /// Compiles the context's function as `build` says and makes it `id`.
    fn define(&mut self, id: FuncId, build: Build) -> Result<Code, String> {
        // ZKJIT_LOG=zkjit::jit=trace shows the machine code of every block.
        let show_code = tracing::enabled!(tracing::Level::TRACE);
        self.context.set_disasm(show_code);
        // ZKJIT_LOG=zkjit::jit::ir=trace shows the IR of every function, as
        // Cranelift gets it (how a change is checked to emit the same IR).
        if tracing::enabled!(target: "zkjit::jit::ir", tracing::Level::TRACE) {
            let ir = self.context.func.display();
            tracing::trace!(target: "zkjit::jit::ir", "IR of {}:\n{ir}", self.context.func.name);
        }
        let isa = if build.optimise {
            self.module.isa()
        } else {
            &*self.quick_isa
        };
        let name = self.context.func.name.clone();
        let machine_code = match self.context.compile(isa, &mut ControlPlane::default()) {
            Err(e) => Err(format!("cranelift: {:?}", e.inner)),
            // Code runs at another address than it was written at (see
            // `code_arena`), and is handed over as bytes: nothing may refer
            // to its own address.
            Ok(code) if !code.buffer.relocs().is_empty() => {
                Err("cranelift: a translation needs relocating".to_string())
            }
            Ok(code) => {
                if let Some(vcode) = code.vcode.as_ref().filter(|_| show_code) {
                    tracing::trace!("machine code of {name}:\n{vcode}");
                }
                let (pad, align) = if build.align_loop_head {
                    (loop_head_padding(&code.bb_edges), u64::from(LINE_BYTES))
                } else {
                    (0, 1)
                };
                let align = align.max(u64::from(code.buffer.alignment));
                Ok((padded(code.code_buffer(), pad), align))
            }
        };
        self.module.clear_context(&mut self.context);
        let (bytes, align) = machine_code?;
        self.module
            .define_function_bytes(id, align, &bytes, &[])
            .map_err(|e| format!("cranelift: {e:?}"))?;
        self.finalize(id)
    }

    /// Makes the defined function `id` executable; returns its code.
    fn finalize(&mut self, id: FuncId) -> Result<Code, String> {
        self.module
            .finalize_definitions()
            .map_err(|e| e.to_string())?;
        Ok(self
            .module
            .get_finalized_function(id)
            .wrapping_offset(self.exec_offset))
    }

    /// Compiles a trace of blocks or a loop entered at the first, as
    /// `shape` says; returns its native code.
    pub fn compile(
        &mut self,
        blocks: &[GuestBlock],
        shape: Shape,
        env: Env,
    ) -> Result<Code, String> {
        let name = format!("b{}_{:08x}", self.next_id, blocks[0].start);
        self.next_id += 1;
        let id = self.declare(&name, self.block_sig.clone())?;
        {
            let mut b = FunctionBuilder::new(&mut self.context.func, &mut self.builder_context);
            let block_sig = b.import_signature(self.block_sig.clone());
            let note_sig = b.import_signature(self.note_sig.clone());
            let page_in = env.page_states.map(|_| {
                let sig = b.import_signature(self.page_in_sig.clone());
                (sig, self.page_in_stub as i64)
            });
            Translator::new(&mut b, env, blocks, shape, block_sig, note_sig, page_in).translate();
            b.finalize(self.module.target_config());
        }
        self.define(id, Build::for_translation(blocks, shape))
    }

    /// An entry stub for block `index` of the loop translation `code`:
    /// it leaves the index in the context and goes on in the loop's code,
    /// so that a loop entered at one of its inner blocks needs no
    /// translation of its own.
    pub fn compile_entry(&mut self, code: Code, index: u32) -> Result<Code, String> {
        let name = format!("e{}_{index}", self.next_id);
        self.next_id += 1;
        if self.stub_template.is_none() {
            self.stub_template = Some(self.make_stub_template());
        }
        let Some(Some(template)) = &self.stub_template else {
            // (No template: Cranelift compiles every stub.)
            let sig = self.block_sig.clone();
            return self.build_helper(&name, sig.clone(), |b, args| {
                let sig = b.import_signature(sig);
                entry_stub(b, args, sig, index, code as i64)
            });
        };
        let bytes = template.instantiate(index, code);
        let align = template.align;
        let id = self.declare(&name, self.block_sig.clone())?;
        self.module
            .define_function_bytes(id, align, &bytes, &[])
            .map_err(|e| format!("cranelift: {e:?}"))?;
        self.finalize(id)
    }

    /// Compiles an entry stub with placeholder constants and finds where
    /// they sit in its machine code; `None` if they cannot be found once
    /// each (or the code needs relocating), so that stubs are then compiled.
    fn make_stub_template(&mut self) -> Option<StubTemplate> {
        let sig = self.block_sig.clone();
        self.build_body(sig.clone(), |b, args| {
            let sig = b.import_signature(sig);
            entry_stub(b, args, sig, STUB_INDEX_MARK, STUB_TARGET_MARK as i64);
        });
        let mut ctrl_plane = Default::default();
        let template = match self.context.compile(self.module.isa(), &mut ctrl_plane) {
            Ok(compiled) if compiled.buffer.relocs().is_empty() => {
                let code = compiled.code_buffer().to_vec();
                let find_once = |mark: &[u8]| {
                    let mut at = code
                        .windows(mark.len())
                        .enumerate()
                        .filter(|(_, w)| *w == mark);
                    match (at.next(), at.next()) {
                        (Some((i, _)), None) => Some(i),
                        _ => None,
                    }
                };
                let index_at = find_once(&STUB_INDEX_MARK.to_le_bytes());
                let target_at = find_once(&STUB_TARGET_MARK.to_le_bytes());
                let align = u64::from(compiled.buffer.alignment);
                index_at
                    .zip(target_at)
                    .map(|(index_at, target_at)| StubTemplate {
                        code,
                        index_at,
                        target_at,
                        align,
                    })
            }
            _ => None,
        };
        self.module.clear_context(&mut self.context);
        if template.is_none() {
            tracing::debug!("no entry stub template; Cranelift compiles every stub");
        }
        template
    }

    /// Runs translated code from `code` until it exits.
    ///
    /// # Safety
    /// `code` must come from this compiler's `compile`, for a machine whose
    /// memory and tables are still alive at the addresses in its `Env`, and
    /// `ctx` must be that machine's context, in its memory's host tail
    /// (translated code reaches the register files from it).
    pub unsafe fn enter(&self, ctx: *mut JitContext, code: Code) {
        unsafe { (self.trampoline)(ctx, code) }
    }
}

unsafe extern "C" fn unreachable_trampoline(_: *mut JitContext, _: Code) {
    unreachable!("the trampoline is built in Compiler::new")
}

#[cfg(test)]
mod tests {
    use super::*;

    extern "C" fn no_page_in(_: *mut JitContext) {}

    #[test]
    fn a_loop_head_lands_at_its_place_in_a_line() {
        // (from, to) offsets: one forward edge, two back to the head at 70.
        let edges = [(0, 20), (150, 70), (200, 100), (90, 70)];
        let pad = loop_head_padding(&edges);
        assert!(pad < LINE_BYTES);
        assert_eq!((70 + pad) % LINE_BYTES, LOOP_HEAD_IN_LINE);
        assert_eq!(loop_head_padding(&[(0, 20)]), 0, "no loop, no padding");
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn padding_jumps_over_itself() {
        let code = [0xc3];
        assert_eq!(padded(&code, 0), [0xc3]);
        assert_eq!(padded(&code, 1), [0x90, 0xc3]);
        let bytes = padded(&code, 40);
        assert_eq!(bytes.len(), 41);
        // jmp rel8 lands on the code.
        assert_eq!((bytes[0], 2 + usize::from(bytes[1])), (0xeb, 40));
        assert_eq!(bytes[40], 0xc3);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn entry_stubs_are_copies_of_one_template() {
        let mut compiler = Compiler::new(no_page_in, crate::jit::code_arena::ARENA_BYTES)
            .expect("a compiler for the host");
        let template = compiler
            .make_stub_template()
            .expect("the placeholders are found in the stub's code");
        let stub = template.instantiate(7, 0x1234_5678_9abc as Code);
        assert_eq!(&stub[template.index_at..][..4], &7u32.to_le_bytes());
        assert_eq!(
            &stub[template.target_at..][..8],
            &0x1234_5678_9abcu64.to_le_bytes()
        );
        // Everything else is the template's.
        let differing = (0..stub.len())
            .filter(|&i| stub[i] != template.code[i])
            .count();
        assert!(differing <= 12, "{differing} bytes changed");
    }
}
