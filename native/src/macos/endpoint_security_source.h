// macOS: Endpoint Security (ES_EVENT_TYPE_AUTH_EXEC) behind the same EventSource seam. Identity
// comes from the message (team ID, signing ID, CDHash, certificate chain) rather than a hash of
// the file alone; answers must land before msg->deadline. Not built on Linux.
#pragma once

#include "../core/event_source.h"

namespace gatehouse {

class EndpointSecuritySource : public EventSource {
 public:
  bool Start(EventSink* sink, std::string* error) override;
  void Respond(const ExecEvent& event, bool allow) override;
  void IgnoreUntilModified(const ExecEvent& event) override;  // es_respond_auth_result cache=true
  void FlushIgnores() override;                               // es_clear_cache
  void Stop() override;                                       // es_delete_client
  std::vector<WatchedFilesystem> Watched() const override;
  const char* Name() const override { return "endpoint-security"; }
};

}  // namespace gatehouse
