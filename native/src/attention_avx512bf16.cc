// The fused attention kernels compiled for AVX-512 with the BF16 extension (flags set in
// binding.gyp): the float32 kernels as in attention_avx512.cc plus the bf16 ones of
// attention_bf16.inc, which attention.cc only calls on CPUs that report avx512_bf16.
#define VM_ATTN_ISA avx512bf16
#include "attention_isa.inc"
