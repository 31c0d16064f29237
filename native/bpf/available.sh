#!/bin/sh
# Prints "yes" when this machine can build the exec gate's BPF programs: clang, bpftool,
# libbpf's headers and the running kernel's BTF (for vmlinux.h). node-gyp reads the answer.
command -v clang >/dev/null 2>&1 && command -v bpftool >/dev/null 2>&1 &&
  [ -f /usr/include/bpf/libbpf.h ] && [ -r /sys/kernel/btf/vmlinux ] && echo yes && exit 0
echo no
