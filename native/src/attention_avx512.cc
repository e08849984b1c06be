// The fused attention kernels compiled for avx512 (flags set in binding.gyp).
#define VM_ATTN_ISA avx512
#include "attention_isa.inc"
