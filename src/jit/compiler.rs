//! Cranelift set-up: the native ISA, a JIT module, the signature every
//! block function shares (the `tail` calling convention, so that blocks can
//! chain with tail calls), and the trampoline Rust enters them through.

use cranelift_codegen::ir::{types, AbiParam, InstBuilder, Signature, UserFuncName};
use cranelift_codegen::isa::CallConv;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, FuncId, Linkage, Module};

use super::cache::Code;
use super::code_arena::CodeArena;
use super::context::{offsets, JitContext};
use super::translate::{Env, GuestBlock, Shape, Translator};

type Trampoline = unsafe extern "C" fn(*mut JitContext, Code);

/// `extern "C" fn(ctx)`: records the context's data access to a page not
/// yet in the state it leaves it in, and lowers the context's cycle limit
/// by the paging it cost.
pub type PageIn = extern "C" fn(*mut JitContext);

/// Compiles guest blocks to native functions.
pub struct Compiler {
    module: JITModule,
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
    next_id: u32,
}

impl Compiler {
    /// A compiler for the host machine; translated code calls `page_in`
    /// when a load or store changes a page's state.
    pub fn new(page_in: PageIn) -> Result<Self, String> {
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
        set(
            &mut flags,
            "enable_verifier",
            if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            },
        )?;
        let isa = cranelift_native::builder()
            .map_err(|e| format!("this host is not supported by Cranelift: {e}"))?
            .finish(settings::Flags::new(flags))
            .map_err(|e| format!("cranelift ISA: {e}"))?;
        let mut builder = JITBuilder::with_isa(isa, default_libcall_names());
        // (Without the arena, Cranelift maps pages of their own for every
        // function: see `code_arena`.)
        match CodeArena::new() {
            Ok(arena) => {
                builder.memory_provider(Box::new(arena));
            }
            Err(error) => tracing::debug!(%error, "no code arena; code gets pages of its own"),
        }
        let module = JITModule::new(builder);
        let pointer = module.target_config().pointer_type();
        // (ctx, user cycles, cycle limit): the counts travel in registers
        // from block to block and reach the context only at exits to Rust.
        let mut block_sig = Signature::new(CallConv::Tail);
        block_sig.params.push(AbiParam::new(pointer));
        block_sig.params.push(AbiParam::new(types::I64));
        block_sig.params.push(AbiParam::new(types::I64));
        let mut note_sig = module.make_signature();
        note_sig.params.push(AbiParam::new(pointer));
        note_sig.params.push(AbiParam::new(types::I32));
        let mut page_in_sig = Signature::new(CallConv::PreserveAll);
        page_in_sig.params.push(AbiParam::new(pointer));
        let mut compiler = Self {
            context: module.make_context(),
            module,
            builder_context: FunctionBuilderContext::new(),
            block_sig,
            note_sig,
            page_in_sig,
            trampoline: unreachable_trampoline,
            page_in_stub: std::ptr::null(),
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
            let cycles = b.ins().load(types::I64, flags, ctx, offsets::CYCLES);
            let limit = b.ins().load(types::I64, flags, ctx, offsets::CYCLE_LIMIT);
            b.ins()
                .call_indirect(block_sig, code, &[ctx, cycles, limit]);
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
        let id = self.declare(name, sig)?;
        {
            let mut b = FunctionBuilder::new(&mut self.context.func, &mut self.builder_context);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            b.seal_block(entry);
            let args = b.block_params(entry).to_vec();
            body(&mut b, &args);
            b.finalize(self.module.target_config());
        }
        self.define(id)
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

    fn define(&mut self, id: FuncId) -> Result<Code, String> {
        // ZKJIT_LOG=zkjit::jit=trace shows the machine code of every block.
        let show_code = tracing::enabled!(tracing::Level::TRACE);
        self.context.set_disasm(show_code);
        self.module
            .define_function(id, &mut self.context)
            .map_err(|e| format!("cranelift: {e:?}"))?;
        if show_code {
            if let Some(code) = self.context.compiled_code().and_then(|c| c.vcode.as_ref()) {
                tracing::trace!("machine code of {}:\n{code}", self.context.func.name);
            }
        }
        self.module.clear_context(&mut self.context);
        self.module
            .finalize_definitions()
            .map_err(|e| e.to_string())?;
        Ok(self.module.get_finalized_function(id))
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
        self.define(id)
    }

    /// An entry stub for block `index` of the loop translation `code`:
    /// it leaves the index in the context and goes on in the loop's code,
    /// so that a loop entered at one of its inner blocks needs no
    /// translation of its own.
    pub fn compile_entry(&mut self, code: Code, index: u32) -> Result<Code, String> {
        let name = format!("e{}_{index}", self.next_id);
        self.next_id += 1;
        let block_sig = self.block_sig.clone();
        self.build_helper(&name, block_sig.clone(), |b, args| {
            let block_sig = b.import_signature(block_sig);
            let flags = cranelift_codegen::ir::MemFlagsData::trusted();
            let index = b.ins().iconst(types::I32, i64::from(index));
            b.ins().store(flags, index, args[0], offsets::LOOP_ENTRY);
            let code = b.ins().iconst(types::I64, code as i64);
            b.ins().return_call_indirect(block_sig, code, args);
        })
    }

    /// Runs translated code from `code` until it exits.
    ///
    /// # Safety
    /// `code` must come from this compiler's `compile`, for a machine whose
    /// memory and tables are still alive at the addresses in its `Env`.
    pub unsafe fn enter(&self, ctx: &mut JitContext, code: Code) {
        unsafe { (self.trampoline)(ctx, code) }
    }
}

unsafe extern "C" fn unreachable_trampoline(_: *mut JitContext, _: Code) {
    unreachable!("the trampoline is built in Compiler::new")
}
