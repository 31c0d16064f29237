// The exec gate's second layer, in the kernel's BPF LSM: what fanotify cannot see. fanotify asks
// Gatehouse about every exec on the filesystems it marked; these hooks see every superblock and
// every executable mapping, and refuse (LOCKDOWN) or report (MONITOR) the routes around it:
//   - an exec from memory (memfd), from a filesystem mounted in a user namespace, from FUSE, or
//     (when every filesystem is watched) from one that is not watched yet;
//   - an executable mapping of a file a local user can write (the dynamic loader given a path,
//     LD_PRELOAD, dlopen) that Gatehouse has not allowed.
// Maps are filled by the agent; nothing here waits on user space.
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "gate.h"

char LICENSE[] SEC("license") = "GPL";

#define EPERM 1
#define PROT_EXEC 0x4
#define FUSE_SUPER_MAGIC 0x65735546
#define S_IFMT 00170000
#define S_IFREG 0100000

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct gate_config);
} gate_settings SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);  // super_block.s_dev
  __type(value, __u8);
} watched SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, GATE_ALLOWED_CAPACITY);
  __type(key, struct gate_file);
  __type(value, __u8);
} allowed SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} events SEC(".maps");

static __always_inline struct gate_config* settings(void) {
  __u32 zero = 0;
  struct gate_config* c = bpf_map_lookup_elem(&gate_settings, &zero);
  if (!c || c->mode == GATE_OFF) return 0;
  if ((bpf_get_current_pid_tgid() >> 32) == c->agent_tgid) return 0;  // never our own work
  return c;
}

// Mounted in a user namespace (the initial one is level 0): its owner chose what it shows.
static __always_inline int namespace_mount(struct super_block* sb) {
  return BPF_CORE_READ(sb, s_user_ns, level) != 0;
}

static __always_inline int untrusted_superblock(struct super_block* sb) {
  return namespace_mount(sb) || BPF_CORE_READ(sb, s_magic) == FUSE_SUPER_MAGIC;
}

static __always_inline int refuse(struct gate_config* c, __u32 route, struct file* file,
                                  const char* filename) {
  struct gate_event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  const int block = c->mode == GATE_LOCKDOWN;
  if (e) {
    struct inode* inode = BPF_CORE_READ(file, f_inode);
    e->route = route;
    e->blocked = block;
    e->pid = bpf_get_current_pid_tgid() >> 32;
    e->uid = (__u32)bpf_get_current_uid_gid();
    e->dev = BPF_CORE_READ(inode, i_sb, s_dev);
    e->ino = BPF_CORE_READ(inode, i_ino);
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    e->name[0] = 0;
    if (filename) {
      bpf_probe_read_kernel_str(e->name, sizeof(e->name), filename);
    } else {
      const unsigned char* name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
      bpf_probe_read_kernel_str(e->name, sizeof(e->name), name);
    }
    bpf_ringbuf_submit(e, 0);
  }
  return block ? -EPERM : 0;
}

static __always_inline int is_allowed(struct inode* inode) {
  struct gate_file key = {};
  key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
  key.ino = BPF_CORE_READ(inode, i_ino);
  return bpf_map_lookup_elem(&allowed, &key) != 0;
}

SEC("lsm/bprm_check_security")
int BPF_PROG(gate_exec, struct linux_binprm* bprm, int ret) {
  if (ret) return ret;
  struct gate_config* c = settings();
  if (!c) return 0;
  struct file* file = BPF_CORE_READ(bprm, file);
  struct inode* inode = BPF_CORE_READ(file, f_inode);
  struct super_block* sb = BPF_CORE_READ(inode, i_sb);
  __u32 dev = BPF_CORE_READ(sb, s_dev);
  // fanotify marked this filesystem and was asked before this hook runs.
  if (bpf_map_lookup_elem(&watched, &dev)) return 0;
  if (is_allowed(inode)) return 0;
  const char* filename = BPF_CORE_READ(bprm, filename);
  int flags = BPF_CORE_READ(file, f_path.mnt, mnt_flags);
  if (flags & MNT_INTERNAL) return refuse(c, GATE_ROUTE_MEMORY, file, filename);
  if (BPF_CORE_READ(sb, s_magic) == FUSE_SUPER_MAGIC)
    return refuse(c, GATE_ROUTE_FUSE, file, filename);
  if (namespace_mount(sb)) return refuse(c, GATE_ROUTE_NAMESPACE_MOUNT, file, filename);
  if (c->watch_all) return refuse(c, GATE_ROUTE_UNWATCHED, file, filename);
  return 0;
}

static __always_inline int check_mapping(struct file* file) {
  struct gate_config* c = settings();
  if (!c) return 0;
  struct inode* inode = BPF_CORE_READ(file, f_inode);
  if ((BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFREG) return 0;
  // Memory files: code put in memory is code an approved program runs (as a JIT does); the
  // route that starts a program from memory is the exec above.
  if (BPF_CORE_READ(file, f_path.mnt, mnt_flags) & MNT_INTERNAL) return 0;
  struct super_block* sb = BPF_CORE_READ(inode, i_sb);
  const __u32 uid = BPF_CORE_READ(inode, i_uid.val);
  const __u16 mode = BPF_CORE_READ(inode, i_mode);
  // Root's own files, on a filesystem of the machine's: nobody else can change what they hold.
  if (uid == 0 && !(mode & 0022) && !untrusted_superblock(sb)) return 0;
  if (is_allowed(inode)) return 0;
  return refuse(c, GATE_ROUTE_LIBRARY, file, 0);
}

SEC("lsm/mmap_file")
int BPF_PROG(gate_mmap, struct file* file, unsigned long reqprot, unsigned long prot,
             unsigned long flags, int ret) {
  if (ret) return ret;
  if (!file || !(prot & PROT_EXEC)) return 0;
  return check_mapping(file);
}

SEC("lsm/file_mprotect")
int BPF_PROG(gate_mprotect, struct vm_area_struct* vma, unsigned long reqprot, unsigned long prot,
             int ret) {
  if (ret) return ret;
  if (!(prot & PROT_EXEC)) return 0;
  struct file* file = BPF_CORE_READ(vma, vm_file);
  if (!file) return 0;
  return check_mapping(file);
}
