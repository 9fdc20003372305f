#ifndef PERFWIRE_CLIENTS_LIB_APP_METRICS_SUMMARY_H_
#define PERFWIRE_CLIENTS_LIB_APP_METRICS_SUMMARY_H_

#include <cstddef>
#include <string>

#include "perfwire_generated.h"

namespace perfwire {

// Renders a frame's application metrics for people: empty when the frame has
// none, else a column header and up to `max_series` series (in frame order):
//   APP-METRIC                              TYPE   PID      VALUE/COUNT P50 P99
//   shop.latency{region:eu}                 ms
//   4242         3.000     12.06     20.00
// VALUE/COUNT is the counter sum, the gauge value, the ms/h/d count or the
// set's distinct count; P50/P99 are shown for ms/h/d only. Values in the
// sender's unit. Every line ends with '\n'. Pure function; thread-safe.
std::string FormatAppMetricsSummary(const fb::Frame& frame,
                                    size_t max_series = 10);

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_APP_METRICS_SUMMARY_H_
