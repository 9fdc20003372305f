#ifndef PERFWIRE_VERSION_VERSION_H_
#define PERFWIRE_VERSION_VERSION_H_

// The build's identity, for `--version` of perfwire and perfwired: the
// project version from CMake's project(VERSION) and the git revision of the
// source tree at build time (`git describe --always --dirty`; "unknown"
// outside a git checkout). Link perfwire_version (version/CMakeLists.txt).

namespace perfwire {

// e.g. "0.1.0".
const char* ProjectVersion();

// e.g. "6642ee1a2b3c" or "6642ee1a2b3c-dirty".
const char* GitRevision();

}  // namespace perfwire

#endif  // PERFWIRE_VERSION_VERSION_H_
