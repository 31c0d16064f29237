// Signal dispositions the addon sets in a process it shares with Node and whoever embeds it.
#pragma once

#include <signal.h>

namespace gatehouse {

// Sets handler (a function, or SIG_IGN) for signal_number only where nobody handles it yet: a
// handler someone else installed (Node's, for a JavaScript listener) is theirs to keep.
inline void HandleWhereUnhandled(int signal_number, void (*handler)(int)) {
  struct sigaction current;
  if (sigaction(signal_number, nullptr, &current) != 0) return;
  if (current.sa_handler != SIG_DFL || (current.sa_flags & SA_SIGINFO)) return;
  struct sigaction replacement {};
  replacement.sa_handler = handler;
  sigemptyset(&replacement.sa_mask);
  sigaction(signal_number, &replacement, nullptr);
}

}  // namespace gatehouse
