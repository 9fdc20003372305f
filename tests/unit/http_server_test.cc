// HttpServer over a real loopback socket: routing, 405, 413 for an oversized
// request head, and Connection: close.

#include "clients/lib/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace perfwire {
namespace {

// Sends `request` to 127.0.0.1:port and returns everything the server wrote.
std::string Exchange(uint16_t port, const std::string& request) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  timeval timeout{10, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    return "connect failed";
  }
  send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = recv(fd.get(), buf, sizeof(buf), 0)) > 0;) {
    response.append(buf, static_cast<size_t>(n));
  }
  return response;
}

class HttpServerSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<ListenAddress> address = ParseListenAddress("127.0.0.1:0");
    ASSERT_TRUE(address.ok());
    absl::StatusOr<HttpServer> server = HttpServer::Listen(*address);
    ASSERT_TRUE(server.ok()) << server.status();
    server_.emplace(*std::move(server));
  }

  // Serves one request on a thread while the client side runs here.
  std::string Serve(const std::string& request) {
    std::thread serving([this] {
      EXPECT_TRUE(server_
                      ->ServeOne(
                          [](const HttpRequestLine& line) {
                            HttpResponse r;
                            if (line.path == "/metrics") {
                              r.body = "m 1\n";
                            } else {
                              r.status = 404;
                              r.body = "no\n";
                            }
                            return r;
                          },
                          absl::Seconds(10))
                      .ok());
    });
    std::string response = Exchange(server_->port(), request);
    serving.join();
    return response;
  }

  std::optional<HttpServer> server_;
};

TEST_F(HttpServerSocketTest, ServesMetrics) {
  const std::string r = Serve("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(r, "HTTP/1.1 200 OK\r\n")) << r;
  EXPECT_TRUE(absl::StrContains(r, "Connection: close\r\n"));
  EXPECT_TRUE(absl::EndsWith(r, "\r\n\r\nm 1\n")) << r;
}

TEST_F(HttpServerSocketTest, HeadOmitsBody) {
  const std::string r = Serve("HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(r, "HTTP/1.1 200 OK\r\n")) << r;
  EXPECT_TRUE(absl::StrContains(r, "Content-Length: 4\r\n"));
  EXPECT_TRUE(absl::EndsWith(r, "\r\n\r\n")) << r;
}

TEST_F(HttpServerSocketTest, UnknownPathIs404) {
  EXPECT_TRUE(absl::StartsWith(Serve("GET /x HTTP/1.1\r\n\r\n"),
                               "HTTP/1.1 404 Not Found\r\n"));
}

TEST_F(HttpServerSocketTest, PostIs405) {
  EXPECT_TRUE(absl::StartsWith(Serve("POST /metrics HTTP/1.1\r\n\r\n"),
                               "HTTP/1.1 405"));
}

TEST_F(HttpServerSocketTest, GarbageIs400) {
  EXPECT_TRUE(absl::StartsWith(Serve("hello there\r\n\r\n"), "HTTP/1.1 400"));
}

TEST_F(HttpServerSocketTest, OversizedHeadIs413) {
  const std::string huge =
      "GET /metrics HTTP/1.1\r\nX: " + std::string(kMaxRequestBytes, 'a') +
      "\r\n\r\n";
  EXPECT_TRUE(absl::StartsWith(Serve(huge), "HTTP/1.1 413")) << "";
}

TEST_F(HttpServerSocketTest, NoConnectionWithinTimeoutIsOk) {
  EXPECT_TRUE(
      server_
          ->ServeOne([](const HttpRequestLine&) { return HttpResponse(); },
                     absl::Milliseconds(10))
          .ok());
}

}  // namespace
}  // namespace perfwire
