#ifndef PERFWIRE_SCHEMA_SCHEMA_TEXT_H_
#define PERFWIRE_SCHEMA_SCHEMA_TEXT_H_

#include <cstdint>

namespace perfwire {

// The text of schema/perfwire.fbs, embedded at build time. Feeding it to
// flatbuffers::Parser lets any tool render frames without per-field code.
extern const char kSchemaText[];

// Wire compatibility version, carried in Frame.schema_version. Additive schema
// changes keep it; it would change only for an incompatible format, which the
// evolution rules forbid. Readers reject frames of any other version.
inline constexpr uint32_t kSchemaVersion = 1;

}  // namespace perfwire

#endif  // PERFWIRE_SCHEMA_SCHEMA_TEXT_H_
