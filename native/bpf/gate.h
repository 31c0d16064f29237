// Shared by the BPF programs (gate.bpf.c) and the agent's loader (src/linux/bpf_gate.cc).
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define GATE_OFF 0
#define GATE_MONITOR 1
#define GATE_LOCKDOWN 2

#define GATE_ROUTE_MEMORY 1           // exec of a memory file (memfd)
#define GATE_ROUTE_NAMESPACE_MOUNT 2  // exec from a filesystem mounted in a user namespace
#define GATE_ROUTE_FUSE 3             // exec from a FUSE filesystem
#define GATE_ROUTE_UNWATCHED 4        // exec from a filesystem not watched (yet)
#define GATE_ROUTE_LIBRARY 5          // executable mapping of a user-writable file not allowed

#define GATE_ALLOWED_CAPACITY 65536

struct gate_config {
  __u32 mode;
  __u32 watch_all;
  __u32 agent_tgid;
  __u32 unused;
};

struct gate_file {
  __u32 dev;  // super_block.s_dev (the kernel's encoding: major << 20 | minor)
  __u32 pad;
  __u64 ino;
};

struct gate_event {
  __u32 route;
  __u32 blocked;
  __u32 pid;
  __u32 uid;
  __u32 dev;
  __u32 pad;
  __u64 ino;
  char comm[16];
  char name[128];
};
