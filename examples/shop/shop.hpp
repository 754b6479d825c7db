#pragma once
// The demo shop: a small HTTP/1.1 JSON store that `prober demo` probes in-process and the tests
// run as a separate process (prober-shop). Boost.Beast stays inside shop.cpp, so including this
// header costs nothing.
//
// Routes (route name in brackets; the names key the fault table):
//   GET  /api/products              [products]         the catalog
//   GET  /api/products/{id}         [product]          one item, 404 if unknown
//   POST /api/login                 [login]            {"user","password"} -> token + session
//   cookie GET  /api/me                    [me]               needs `Authorization: Bearer <token>`
//   POST /api/cart                  [cart_add]         {"product","quantity"[,"cart_id"]} -> 201
//   cart GET  /api/cart/{cart_id}        [cart_get]         the cart, 404 if unknown POST
//   /api/completePurchase      [completePurchase] {"cart_id"} or {"product"[,"quantity"]} GET
//   /healthz                   [healthz]          {"ok":true}
// Anything else is a 404 (405 for a known path with the wrong method); faults never apply to
// those.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace shop {

// Every route name, in the order of the table above. "*" (in set_fault / Options::faults) means
// every route that has no fault of its own.
inline constexpr std::array<std::string_view, 8> kRoutes = {
    "products", "product", "login", "me", "cart_add", "cart_get", "completePurchase", "healthz"};

// True for a name in kRoutes or "*".
bool is_route(std::string_view name) noexcept;

// Injected misbehaviour for one route. The delay comes first (an asio timer: other requests keep
// being served meanwhile), then, with probability error_rate, the answer is error_status with
// {"error":"injected fault"} instead of the real one.
struct Fault {
  int delay_ms = 0;
  double error_rate = 0;  // 0..1
  int error_status = 503;
};

struct Options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;  // 0: any free port; start() returns the bound one
  unsigned threads = 1;     // io_context threads
  std::uint64_t seed = 1;   // ids, tokens and fault draws
  std::string log_path;     // non-empty: one JSON line per request, appended and flushed
  std::map<std::string, Fault> faults;  // route name (or "*") -> fault
};

// Owns its io_context and threads. All members may be called from any thread except the
// server's own (stop() joins them).
class Server {
 public:
  // Throws std::invalid_argument for an unknown route name in options.faults or threads == 0.
  explicit Server(Options options);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens, starts the threads; returns the bound port. Call once. Throws
  // std::system_error if the address cannot be bound, std::runtime_error if the log cannot be
  // opened, std::logic_error if called twice.
  unsigned short start();

  // Closes the listening socket and every open connection, joins the threads. Idempotent.
  // Not callable from a request handler (it joins the threads handlers run on).
  void stop();

  // Replaces the fault of one route (or "*"); a default Fault{} clears it. Effective for the
  // next request. Throws std::invalid_argument for an unknown route name.
  void set_fault(const std::string& endpoint, Fault fault);

  // Requests answered so far (every status, including 404s and injected faults).
  std::uint64_t requests() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shop
