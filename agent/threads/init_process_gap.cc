#include "agent/threads/thread_source.h"

namespace perfwire {

// Filled in when the /proc thread reader lands.
void ThreadSource::ObserveInitProcessFromProc() {}

}  // namespace perfwire
