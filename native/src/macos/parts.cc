// core/parts.h on macOS: Endpoint Security is not built yet; the fake source still runs.
#include "../core/parts.h"

namespace gatehouse {

std::unique_ptr<WriteGuard> MakeWriteGuard(const PartsOptions&) {
  return std::make_unique<NoWriteGuard>();
}

bool MakeSystemParts(const PartsOptions&, MonitorParts*, std::string* error) {
  *error = "the Endpoint Security backend is not built into this addon yet";
  return false;
}

}  // namespace gatehouse
