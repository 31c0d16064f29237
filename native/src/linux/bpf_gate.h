// ExecGate on Linux: the BPF LSM programs of native/bpf/gate.bpf.c, loaded with libbpf from the
// skeleton built with the addon. Links are not pinned: they go when this process goes, however it
// ends, so a crashed agent leaves nothing refusing execs behind.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "../core/exec_gate.h"

struct gate;
struct ring_buffer;

namespace gatehouse {

class BpfGate : public ExecGate {
 public:
  // Loads and attaches the programs (off until SetMode); null with the reason when it cannot.
  static std::unique_ptr<ExecGate> Open();
  ~BpfGate() override;

  bool Start(OnRoute on_route) override;
  void Stop() override;
  void SetMode(ClientMode mode) override;
  void SetWatched(const std::set<uint64_t>& devices, bool all) override;
  void Allow(uint64_t dev, uint64_t inode) override;
  void Forget(uint64_t dev, uint64_t inode) override;
  void ForgetAll() override;
  std::string Gaps() const override { return std::string(); }

 private:
  explicit BpfGate(struct gate* skeleton);
  void WriteConfig();
  static int OnEvent(void* self, void* data, size_t size);

  struct gate* skeleton_;
  struct ring_buffer* ring_ = nullptr;
  OnRoute on_route_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  uint32_t mode_ = 0;
  bool watch_all_ = false;
  std::set<uint32_t> watched_;
};

}  // namespace gatehouse
