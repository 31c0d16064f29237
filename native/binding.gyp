{
  "targets": [
    {
      "target_name": "gatehouse",
      "sources": ["src/binding.cc", "src/core/sha256.cc", "src/core/md5.cc", "src/core/policy.cc", "src/core/authorizer.cc", "src/core/decision_cache.cc", "src/core/file_hash.cc", "src/fake/fake_source.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "GATEHOUSE_VERSION=\"<!(node -p \"require('../package.json').version\")\""
      ],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "cflags_cc!": ["-fno-exceptions"],
      "conditions": [
        ["OS=='linux'", {
          "defines": ["GATEHOUSE_BACKEND=\"fanotify\""],
          "sources": ["src/linux/fanotify_source.cc", "src/linux/build_tracker.cc", "src/linux/mounts.cc", "src/linux/lease_guard.cc", "src/linux/host.cc", "src/linux/parts.cc"],
          "cflags_cc": ["-O2", "-pthread"],
          "ldflags": ["-pthread"]
        }],
        ["OS=='linux' and '<!(sh bpf/available.sh)'=='yes'", {
          "defines": ["GATEHOUSE_BPF=1"],
          "sources": ["src/linux/bpf_gate.cc"],
          "include_dirs": ["bpf", "<(SHARED_INTERMEDIATE_DIR)/bpf"],
          "libraries": ["-lbpf"],
          "actions": [{
            "action_name": "exec_gate_bpf",
            "inputs": ["bpf/gate.bpf.c", "bpf/gate.h", "bpf/build.sh"],
            "outputs": ["<(SHARED_INTERMEDIATE_DIR)/bpf/gate.skel.h"],
            "action": ["sh", "bpf/build.sh", "bpf/gate.bpf.c", "<(SHARED_INTERMEDIATE_DIR)/bpf"]
          }]
        }],
        ["OS=='mac'", {
          "defines": ["GATEHOUSE_BACKEND=\"endpoint-security\""],
          "sources": ["src/macos/host.cc", "src/macos/parts.cc"],
          "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "MACOSX_DEPLOYMENT_TARGET": "12.0" }
        }]
      ]
    }
  ]
}
