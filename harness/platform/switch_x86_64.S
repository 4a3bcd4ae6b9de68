/*
 * switch_x86_64.S: the context switch for x86-64 (System V ABI).
 *
 * weft__ctx_switch(from, to) pushes the callee-saved registers and the
 * MXCSR / x87 control words on the current stack, stores the stack pointer
 * in from->sp, loads to->sp and pops the same frame. A new context is a
 * frame built by weft__ctx_make (context.c) whose return address is
 * weft__ctx_trampoline, which calls entry(arg) with r12 = entry, r13 = arg.
 *
 * weft__ctx_switch_tp(from, to) does the same and also switches the thread
 * pointer (the FS base: each task's own thread-local storage, tls.c): it
 * saves the current one, which glibc keeps at %fs:0 (tcbhead_t.tcb), in
 * from->tp and loads to->tp with wrfsbase, between the two stacks, so no
 * code runs with one task's stack and another's TLS. wrfsbase is only
 * legal when the kernel enables FSGSBASE (tls.c checks AT_HWCAP2 before
 * anything calls this).
 *
 *   struct weft__ctx: [0] sp   [8] tp
 */
#if defined(__x86_64__) && !defined(WEFT_SWITCH_UCONTEXT)
	.text
	.globl	weft__ctx_switch
	.hidden	weft__ctx_switch
	.type	weft__ctx_switch, @function
	.p2align 4
weft__ctx_switch:
	.cfi_startproc
	endbr64
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	%rsp, (%rdi)
	movq	(%rsi), %rsp
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	weft__ctx_switch, .-weft__ctx_switch

	.globl	weft__ctx_switch_tp
	.hidden	weft__ctx_switch_tp
	.type	weft__ctx_switch_tp, @function
	.p2align 4
weft__ctx_switch_tp:
	.cfi_startproc
	endbr64
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	%rsp, (%rdi)
	movq	%fs:0, %rax
	movq	%rax, 8(%rdi)
	movq	8(%rsi), %rax
	wrfsbase %rax
	movq	(%rsi), %rsp
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	weft__ctx_switch_tp, .-weft__ctx_switch_tp

	.globl	weft__ctx_trampoline
	.hidden	weft__ctx_trampoline
	.type	weft__ctx_trampoline, @function
	.p2align 4
weft__ctx_trampoline:
	.cfi_startproc
	.cfi_undefined rip
	endbr64
	movq	%r13, %rdi
	callq	*%r12
	ud2
	.cfi_endproc
	.size	weft__ctx_trampoline, .-weft__ctx_trampoline
#endif
	.section .note.GNU-stack,"",@progbits
