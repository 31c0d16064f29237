// SHA-256 of byte streams. Uses the x86 SHA extensions when the CPU has them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace gatehouse {

using Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  void Update(const uint8_t* data, size_t length);
  Digest Finish();

  static bool HasHardwareSupport();

 private:
  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_ = 0;
};

std::string ToHex(const Digest& digest);
// Parses 64 hex digits (either case); false on anything else.
bool FromHex(const std::string& hex, Digest* out);
// The same for exactly 64 characters at hex (no length check, no copy).
bool FromHex64(const char* hex, Digest* out);

}  // namespace gatehouse
