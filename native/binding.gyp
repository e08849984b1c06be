{
  "targets": [
    {
      "target_name": "videomae_native",
      "sources": [
        "src/addon.cc",
        "src/args.cc",
        "src/ops_tensor.cc",
        "src/ops_math.cc",
        "src/ops_nn.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node config.mjs include)"
      ],
      "defines": ["NAPI_EXPERIMENTAL", "NAPI_CPP_EXCEPTIONS", "<!@(node config.mjs defines)"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": ["-L<!@(node config.mjs libdir)", "-ltorch", "-ltorch_cpu", "-lc10", "<!@(node config.mjs ldflags)"]
    }
  ]
}
