#!/bin/sh
# Builds the exec gate's BPF programs and the libbpf skeleton the addon embeds.
#   build.sh SOURCE OUT_DIR
set -eu
source=$1
out=$2
here=$(dirname "$0")
mkdir -p "$out"
bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$out/vmlinux.h"
arch=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
clang -g -O2 -target bpf -D__TARGET_ARCH_"$arch" -I"$out" -I"$here" -c "$source" -o "$out/gate.bpf.o"
bpftool gen skeleton "$out/gate.bpf.o" name gate > "$out/gate.skel.h"
