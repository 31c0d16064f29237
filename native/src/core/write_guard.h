// Knowing that a file's content is still what was hashed. A decision on a file that a local user
// can write holds only while nobody has opened it for writing: from before it is read until it is
// allowed, and for as long as the allow is remembered (kernel ignore mark and decision cache).
#pragma once

#include <cstdint>
#include <functional>

namespace gatehouse {

class WriteGuard {
 public:
  enum class Begin {
    kGuarded,     // nobody has it open for writing; any later write open is seen
    kWriterOpen,  // it is open for writing (or mapped writable) right now
    kUnsupported  // this filesystem cannot say (the decision must not be remembered)
  };
  // Told before a guarded file may be written: forget every allow of (dev, inode), using fd.
  using OnWrite = std::function<void(int fd, uint64_t dev, uint64_t inode)>;

  virtual ~WriteGuard() = default;
  virtual bool Start(OnWrite on_write) = 0;
  virtual void Stop() = 0;
  // Before the content is read.
  virtual Begin Watch(int fd) = 0;
  // After it was read: true when no write open happened since Watch().
  virtual bool Intact(int fd) = 0;
  // Stops watching fd (the decision is not remembered, or the file cannot be written).
  virtual void Release(int fd) = 0;
  // Keeps watching the file behind fd while its allow is remembered; fd stays the caller's.
  // False when it could not (capacity, or a write open already happened): do not remember it.
  virtual bool Keep(int fd, uint64_t dev, uint64_t inode) = 0;
  // Stops every kept watch (the caches were flushed, so nothing needs it).
  virtual void ReleaseAll() = 0;
  virtual uint64_t kept() const = 0;
};

// Where no guard exists (the fake source off Linux): every user-writable file is unsupported.
class NoWriteGuard : public WriteGuard {
 public:
  bool Start(OnWrite) override { return true; }
  void Stop() override {}
  Begin Watch(int) override { return Begin::kUnsupported; }
  bool Intact(int) override { return false; }
  void Release(int) override {}
  bool Keep(int, uint64_t, uint64_t) override { return false; }
  void ReleaseAll() override {}
  uint64_t kept() const override { return 0; }
};

}  // namespace gatehouse
