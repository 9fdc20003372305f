#ifndef PERFWIRE_CLIENTS_LIB_HTTP_SERVER_H_
#define PERFWIRE_CLIENTS_LIB_HTTP_SERVER_H_

// A tiny single-threaded HTTP/1.1 server for the Prometheus exporter: one
// request per connection (Connection: close), GET and HEAD only, requests
// bounded to kMaxRequestBytes and kRequestTimeout. IPv4 only.

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"

namespace perfwire {

inline constexpr size_t kMaxRequestBytes = 8192;
inline constexpr absl::Duration kRequestTimeout = absl::Seconds(5);

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct HttpRequestLine {
  std::string method;
  std::string path;  // without the query string
};

// Parses the head of a request ("GET /metrics?x HTTP/1.1\r\n..."). Returns
// InvalidArgument for a malformed request line.
absl::StatusOr<HttpRequestLine> ParseRequestLine(absl::string_view request);

// Formats a full HTTP/1.1 response with Content-Length and Connection: close;
// `head_only` omits the body (HEAD).
std::string FormatResponse(const HttpResponse& response, bool head_only);

// "host:port" -> (host, port). Host must be a dotted IPv4 address or
// "localhost"; port 0..65535.
struct ListenAddress {
  std::string host;  // dotted IPv4
  uint16_t port = 0;
  bool loopback = false;  // 127.0.0.0/8
};
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text);

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequestLine&)>;

  // Binds and listens (port 0 picks a free port, see port()).
  static absl::StatusOr<HttpServer> Listen(const ListenAddress& address);

  HttpServer(HttpServer&&) = default;
  HttpServer& operator=(HttpServer&&) = default;

  uint16_t port() const { return port_; }

  // Waits up to `timeout` for a connection and serves it completely.
  // OK when served or when the wait timed out; errors only for the listening
  // socket itself (a misbehaving client is answered 400/408 or dropped).
  absl::Status ServeOne(const Handler& handler, absl::Duration timeout);

 private:
  HttpServer(UniqueFd fd, uint16_t port) : fd_(std::move(fd)), port_(port) {}
  UniqueFd fd_;
  uint16_t port_ = 0;
};

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_HTTP_SERVER_H_
