#ifndef PERFWIRE_CLIENTS_PERFWIRE_EXPORT_H_
#define PERFWIRE_CLIENTS_PERFWIRE_EXPORT_H_

// `perfwire export <format>`: one function per format, listed in export.cc.

#include <vector>

namespace perfwire {

// export_csv.cc. `args` are the positional arguments after the format.
int RunExportCsv(const std::vector<char*>& args);

// export_prometheus.cc. `args` are the positional arguments after the format.
int RunExportPrometheus(const std::vector<char*>& args);

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_PERFWIRE_EXPORT_H_
