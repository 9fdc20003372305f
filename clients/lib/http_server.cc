#include "clients/lib/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/send_all.h"

namespace perfwire {
namespace {

absl::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    default:
      return "Error";
  }
}

int TimeoutMs(absl::Duration d) {
  return static_cast<int>(absl::ToInt64Milliseconds(d));
}

}  // namespace

absl::StatusOr<HttpRequestLine> ParseRequestLine(absl::string_view request) {
  const size_t eol = request.find("\r\n");
  const absl::string_view line =
      eol == absl::string_view::npos ? request : request.substr(0, eol);
  std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() ||
      parts[1][0] != '/' || !absl::StartsWith(parts[2], "HTTP/1.")) {
    return absl::InvalidArgumentError("malformed HTTP request line");
  }
  HttpRequestLine out;
  out.method = std::string(parts[0]);
  absl::string_view path = parts[1];
  path = path.substr(0, path.find('?'));
  out.path = std::string(path);
  return out;
}

std::string FormatResponse(const HttpResponse& response, bool head_only) {
  std::string out = absl::StrCat("HTTP/1.1 ", response.status, " ",
                                 ReasonPhrase(response.status),
                                 "\r\nContent-Type: ", response.content_type,
                                 "\r\nContent-Length: ", response.body.size(),
                                 "\r\nConnection: close\r\n\r\n");
  if (!head_only) out += response.body;
  return out;
}

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen '", text, "' is not HOST:PORT"));
  }
  ListenAddress out;
  out.host = std::string(text.substr(0, colon));
  if (out.host == "localhost") out.host = "127.0.0.1";
  uint32_t port = 0;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen '", text, "': bad port"));
  }
  out.port = static_cast<uint16_t>(port);
  in_addr addr{};
  if (inet_pton(AF_INET, out.host.c_str(), &addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen '", text, "': host must be an IPv4 address or localhost"));
  }
  out.loopback = (ntohl(addr.s_addr) >> 24) == 127;
  return out;
}

absl::StatusOr<HttpServer> HttpServer::Listen(const ListenAddress& address) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return absl::ErrnoToStatus(errno, "socket");
  const int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(address.port);
  if (inet_pton(AF_INET, address.host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError("bad IPv4 address " + address.host);
  }
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::ErrnoToStatus(
        errno, absl::StrCat("bind ", address.host, ":", address.port));
  }
  if (listen(fd.get(), 16) != 0) return absl::ErrnoToStatus(errno, "listen");
  socklen_t len = sizeof(addr);
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return absl::ErrnoToStatus(errno, "getsockname");
  }
  return HttpServer(std::move(fd), ntohs(addr.sin_port));
}

absl::Status HttpServer::ServeOne(const Handler& handler,
                                  absl::Duration timeout) {
  pollfd pfd{fd_.get(), POLLIN, 0};
  const int ready = poll(&pfd, 1, TimeoutMs(timeout));
  if (ready < 0 && errno != EINTR) return absl::ErrnoToStatus(errno, "poll");
  if (ready <= 0) return absl::OkStatus();
  UniqueFd client(accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (client.get() < 0) {
    if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED ||
        errno == EMFILE || errno == ENFILE) {
      return absl::OkStatus();
    }
    return absl::ErrnoToStatus(errno, "accept");
  }
  // Read the head (up to the blank line), bounded in size and time.
  std::string request;
  const absl::Time deadline = absl::Now() + kRequestTimeout;
  int status = 0;
  while (request.find("\r\n\r\n") == std::string::npos) {
    if (request.size() >= kMaxRequestBytes) {
      status = 413;
      break;
    }
    const absl::Duration left = deadline - absl::Now();
    pollfd cpfd{client.get(), POLLIN, 0};
    if (left <= absl::ZeroDuration() ||
        poll(&cpfd, 1, TimeoutMs(left) + 1) <= 0) {
      status = 408;
      break;
    }
    char buf[1024];
    const ssize_t n = recv(client.get(), buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::OkStatus();  // client went away
    request.append(buf, static_cast<size_t>(n));
  }
  HttpResponse response;
  bool head_only = false;
  if (status != 0) {
    response.status = status;
    response.body = absl::StrCat(ReasonPhrase(status), "\n");
  } else if (absl::StatusOr<HttpRequestLine> line = ParseRequestLine(request);
             !line.ok()) {
    response.status = 400;
    response.body = "Bad Request\n";
  } else if (line->method != "GET" && line->method != "HEAD") {
    response.status = 405;
    response.body = "only GET and HEAD\n";
  } else {
    head_only = line->method == "HEAD";
    response = handler(*line);
  }
  const std::string bytes = FormatResponse(response, head_only);
  // A failed send means the client went away: nothing more to do.
  SendAll(client.get(),
          absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(bytes.data()),
                              bytes.size()))
      .IgnoreError();
  shutdown(client.get(), SHUT_WR);
  // Lingering close: discard what the client still sends (bounded), so that
  // closing with unread input does not reset the connection before the
  // client has read the response.
  size_t drained = 0;
  pollfd cpfd{client.get(), POLLIN, 0};
  while (drained < 64 * 1024 && poll(&cpfd, 1, 100) > 0) {
    char buf[4096];
    const ssize_t n = recv(client.get(), buf, sizeof(buf), 0);
    if (n <= 0) break;
    drained += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace perfwire
