#include "bpf_gate.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <fstream>
#include <vector>

#include "gate.h"
#include "gate.skel.h"

namespace gatehouse {
namespace {

int Quiet(enum libbpf_print_level, const char*, va_list) {
  return 0;
}

// The kernel's own dev_t encoding, as super_block.s_dev holds it.
uint32_t KernelDev(uint64_t dev) {
  return (uint32_t(major(dev)) << 20) | uint32_t(minor(dev));
}

const char* RouteName(uint32_t route) {
  switch (route) {
    case GATE_ROUTE_MEMORY: return "memory-file";
    case GATE_ROUTE_NAMESPACE_MOUNT: return "namespace-mount";
    case GATE_ROUTE_FUSE: return "fuse";
    case GATE_ROUTE_UNWATCHED: return "unwatched-filesystem";
    case GATE_ROUTE_LIBRARY: return "untrusted-library";
  }
  return "unknown-route";
}

std::string ActiveLsms() {
  std::ifstream file("/sys/kernel/security/lsm");
  std::string lsms;
  std::getline(file, lsms);
  return lsms;
}

}  // namespace

std::unique_ptr<ExecGate> BpfGate::Open() {
  libbpf_set_print(Quiet);
  struct gate* skeleton = gate__open();
  if (!skeleton) {
    return std::make_unique<NoExecGate>(std::string("the BPF programs could not be opened: ") +
                                        strerror(errno));
  }
  if (const int error = gate__load(skeleton); error != 0) {
    const std::string why = strerror(-error);
    gate__destroy(skeleton);
    return std::make_unique<NoExecGate>(
        "the kernel refused to load the BPF LSM programs (" + why +
        "): it needs BTF (/sys/kernel/btf/vmlinux), root, and a kernel that permits BPF LSM and "
        "trampoline programs");
  }
  if (const int error = gate__attach(skeleton); error != 0) {
    const std::string why = strerror(-error);
    gate__destroy(skeleton);
    const std::string lsms = ActiveLsms();
    return std::make_unique<NoExecGate>("the BPF LSM is not active (" + why +
                                        "; active: " + (lsms.empty() ? "unknown" : lsms) +
                                        "): add bpf to the kernel's lsm= boot parameter");
  }
  return std::unique_ptr<ExecGate>(new BpfGate(skeleton));
}

BpfGate::BpfGate(struct gate* skeleton) : skeleton_(skeleton) {
  WriteConfig();
}

BpfGate::~BpfGate() {
  Stop();
  gate__destroy(skeleton_);
}

bool BpfGate::Start(OnRoute on_route) {
  on_route_ = std::move(on_route);
  ring_ = ring_buffer__new(bpf_map__fd(skeleton_->maps.events), &BpfGate::OnEvent, this, nullptr);
  if (!ring_) return false;
  stopping_ = false;
  thread_ = std::thread([this] {
    while (!stopping_) ring_buffer__poll(ring_, 200);
  });
  return true;
}

void BpfGate::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    mode_ = GATE_OFF;
  }
  WriteConfig();
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (ring_) ring_buffer__free(ring_);
  ring_ = nullptr;
}

int BpfGate::OnEvent(void* self, void* data, size_t size) {
  auto* gate = static_cast<BpfGate*>(self);
  if (size < sizeof(gate_event) || !gate->on_route_) return 0;
  const auto* e = static_cast<const gate_event*>(data);
  RouteEvent event;
  event.route = RouteName(e->route);
  event.blocked = e->blocked != 0;
  event.pid = int32_t(e->pid);
  event.uid = e->uid;
  event.dev = makedev(e->dev >> 20, e->dev & 0xfffff);
  event.inode = e->ino;
  event.name.assign(e->name, strnlen(e->name, sizeof(e->name)));
  gate->on_route_(std::move(event));
  return 0;
}

void BpfGate::SetMode(ClientMode mode) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    mode_ = mode == ClientMode::kLockdown ? GATE_LOCKDOWN : GATE_MONITOR;
  }
  WriteConfig();
}

void BpfGate::SetWatched(const std::set<uint64_t>& devices, bool all) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int fd = bpf_map__fd(skeleton_->maps.watched);
  std::set<uint32_t> next;
  for (uint64_t device : devices) next.insert(KernelDev(device));
  const uint8_t one = 1;
  for (uint32_t dev : next) {
    if (!watched_.count(dev)) bpf_map_update_elem(fd, &dev, &one, BPF_ANY);
  }
  for (uint32_t dev : watched_) {
    if (!next.count(dev)) bpf_map_delete_elem(fd, &dev);
  }
  watched_ = std::move(next);
  watch_all_ = all;
  gate_config config{mode_, watch_all_ ? 1u : 0u, uint32_t(getpid()), 0};
  const uint32_t zero = 0;
  bpf_map_update_elem(bpf_map__fd(skeleton_->maps.gate_settings), &zero, &config, BPF_ANY);
}

void BpfGate::WriteConfig() {
  std::lock_guard<std::mutex> lock(mutex_);
  gate_config config{mode_, watch_all_ ? 1u : 0u, uint32_t(getpid()), 0};
  const uint32_t zero = 0;
  bpf_map_update_elem(bpf_map__fd(skeleton_->maps.gate_settings), &zero, &config, BPF_ANY);
}

void BpfGate::Allow(uint64_t dev, uint64_t inode) {
  gate_file key{KernelDev(dev), 0, inode};
  const uint8_t one = 1;
  bpf_map_update_elem(bpf_map__fd(skeleton_->maps.allowed), &key, &one, BPF_ANY);
}

void BpfGate::Forget(uint64_t dev, uint64_t inode) {
  gate_file key{KernelDev(dev), 0, inode};
  bpf_map_delete_elem(bpf_map__fd(skeleton_->maps.allowed), &key);
}

void BpfGate::ForgetAll() {
  const int fd = bpf_map__fd(skeleton_->maps.allowed);
  gate_file key{}, next{};
  std::vector<gate_file> keys;
  const void* previous = nullptr;
  while (bpf_map_get_next_key(fd, previous, &next) == 0) {
    keys.push_back(next);
    key = next;
    previous = &key;
  }
  for (const gate_file& k : keys) bpf_map_delete_elem(fd, &k);
}

}  // namespace gatehouse
