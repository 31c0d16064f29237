// The exec gate's second layer: what the event source cannot see (on Linux, BPF LSM hooks on
// every exec and executable mapping; see native/bpf/gate.bpf.c). It refuses those routes in
// LOCKDOWN and reports them in MONITOR; the authorizer tells it which files it allowed.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "policy.h"

namespace gatehouse {

struct RouteEvent {
  const char* route;  // a decision reason: memory-file, namespace-mount, fuse, ...
  bool blocked;
  int32_t pid;
  uint32_t uid;
  uint64_t dev, inode;
  std::string name;  // the path the exec named, or the file's name
};

class ExecGate {
 public:
  using OnRoute = std::function<void(RouteEvent&&)>;
  virtual ~ExecGate() = default;
  virtual bool Start(OnRoute on_route) = 0;
  virtual void Stop() = 0;
  virtual void SetMode(ClientMode mode) = 0;
  // The filesystems the event source watches (st_dev values), and whether it watches them all.
  virtual void SetWatched(const std::set<uint64_t>& devices, bool all) = 0;
  // A file the authorizer allowed and watches for writes (a user could write it).
  virtual void Allow(uint64_t dev, uint64_t inode) = 0;
  virtual void Forget(uint64_t dev, uint64_t inode) = 0;
  virtual void ForgetAll() = 0;
  // Empty when every route is gated; otherwise what is not, and why.
  virtual std::string Gaps() const = 0;
};

class NoExecGate : public ExecGate {
 public:
  explicit NoExecGate(std::string why) : why_(std::move(why)) {}
  bool Start(OnRoute) override { return true; }
  void Stop() override {}
  void SetMode(ClientMode) override {}
  void SetWatched(const std::set<uint64_t>&, bool) override {}
  void Allow(uint64_t, uint64_t) override {}
  void Forget(uint64_t, uint64_t) override {}
  void ForgetAll() override {}
  std::string Gaps() const override { return why_; }

 private:
  std::string why_;
};

}  // namespace gatehouse
