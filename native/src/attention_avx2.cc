// The fused attention kernels compiled for avx2 (flags set in binding.gyp).
#define VM_ATTN_ISA avx2
#include "attention_isa.inc"
