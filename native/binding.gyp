{
  "target_defaults": {
    "include_dirs": [
      "<!(node -p \"require('node-addon-api').include_dir\")",
      "<!@(node config.mjs include)"
    ],
    "defines": ["NAPI_EXPERIMENTAL", "NAPI_CPP_EXCEPTIONS", "<!@(node config.mjs defines)"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++14"],
    "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"]
  },
  "targets": [
    {
      "target_name": "attention_avx512",
      "type": "static_library",
      "sources": ["src/attention_avx512.cc"],
      "cflags_cc": ["-O3", "-fPIC", "-fopenmp", "-fno-math-errno", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma", "-mprefer-vector-width=512"],
      "link_settings": {"libraries": ["-lgomp"]}
    },
    {
      "target_name": "attention_avx512bf16",
      "type": "static_library",
      "sources": ["src/attention_avx512bf16.cc"],
      "cflags_cc": ["-O3", "-fPIC", "-fopenmp", "-fno-math-errno", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx512bf16", "-mavx2", "-mfma", "-mprefer-vector-width=512"],
      "link_settings": {"libraries": ["-lgomp"]}
    },
    {
      "target_name": "attention_avx2",
      "type": "static_library",
      "sources": ["src/attention_avx2.cc"],
      "cflags_cc": ["-O3", "-fPIC", "-fopenmp", "-fno-math-errno", "-mavx2", "-mfma"],
      "link_settings": {"libraries": ["-lgomp"]}
    },
    {
      "target_name": "ops_simd",
      "type": "static_library",
      "sources": ["src/ops/adamw_kernel.cc", "src/ops/clip_kernels.cc"],
      "cflags_cc": ["-O3", "-fPIC", "-fopenmp-simd", "-fno-math-errno", "-ffp-contract=off"]
    },
    {
      "target_name": "videomae_native",
      "dependencies": ["attention_avx512", "attention_avx512bf16", "attention_avx2", "ops_simd"],
      "sources": [
        "src/addon.cc",
        "src/args.cc",
        "src/ops_tensor.cc",
        "src/ops_math.cc",
        "src/ops_nn.cc",
        "src/ops_bf16.cc",
        "src/attention.cc",
        "src/distributed.cc",
        "src/ops_fused.cc",
        "src/ops/roi_align.cc",
        "src/ops/linear_dnnl.cc",
        "src/ops/clip_ops.cc",
        "src/video/decoder.cc",
        "src/video/video.cc",
        "src/core/device.cc",
        "src/core/heap.cc",
        "src/core/op_profile.cc"
      ],
      "cflags_cc": ["-fopenmp", "<!@(node config.mjs libav-cflags)"],
      "libraries": ["-L<!@(node config.mjs libdir)", "-ltorch", "-ltorch_cpu", "-lc10", "-ldl", "-lgomp", "<!@(node config.mjs libav-libs)", "<!@(node config.mjs ldflags)"]
    }
  ]
}
