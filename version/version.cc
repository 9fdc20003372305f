#include "version/version.h"

#include "perfwire_version_generated.h"

namespace perfwire {

const char* ProjectVersion() { return PERFWIRE_VERSION; }

const char* GitRevision() { return PERFWIRE_GIT_REVISION; }

}  // namespace perfwire
