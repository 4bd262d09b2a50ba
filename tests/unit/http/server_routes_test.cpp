// Server::dispatch(): exact paths, per-route methods (405 without calling the
// handler), the fallback. The Allow header on the wire is checked by
// tests/integration/test_endpoints.py.
#include <gtest/gtest.h>

#include <string>

#include "tether/http/server.h"

namespace tether::http {
namespace {

class ServerRoutes : public ::testing::Test {
 protected:
  Server server{ServerOptions{}};
  std::string called;

  ServerRoutes() {
    server.handle("/any", [this](const Request&, Response&) { called = "any"; });
    server.handle("/ro", "GET, HEAD", [this](const Request&, Response&) { called = "ro"; });
    server.setFallback([this](const Request&, Response& res) {
      called = "fallback";
      res.setStatus(404);
    });
  }

  int dispatch(std::string_view method, std::string_view path) {
    called.clear();
    Request req;
    req.method = method;
    req.path = path;
    Response res;
    server.dispatch(req, res);
    return res.status();
  }
};

TEST_F(ServerRoutes, ListedMethodsReachTheHandler) {
  EXPECT_EQ(dispatch("GET", "/ro"), 200);
  EXPECT_EQ(called, "ro");
  EXPECT_EQ(dispatch("HEAD", "/ro"), 200);
  EXPECT_EQ(called, "ro");
}

TEST_F(ServerRoutes, OtherMethodsGet405WithoutTheHandler) {
  for (std::string_view m : {"POST", "DELETE", "OPTIONS", "get", "GETX", "HEA"}) {
    EXPECT_EQ(dispatch(m, "/ro"), 405) << m;
    EXPECT_EQ(called, "") << m;
  }
}

TEST_F(ServerRoutes, RouteWithoutMethodListTakesEveryMethod) {
  EXPECT_EQ(dispatch("DELETE", "/any"), 200);
  EXPECT_EQ(called, "any");
}

TEST_F(ServerRoutes, UnknownPathGoesToTheFallbackWhateverTheMethod) {
  EXPECT_EQ(dispatch("DELETE", "/nope"), 404);
  EXPECT_EQ(called, "fallback");
}

TEST_F(ServerRoutes, ReRegisteringAPathReplacesItsMethodsToo) {
  server.handle("/ro", [this](const Request&, Response&) { called = "replaced"; });
  EXPECT_EQ(dispatch("DELETE", "/ro"), 200);
  EXPECT_EQ(called, "replaced");
}

}  // namespace
}  // namespace tether::http
