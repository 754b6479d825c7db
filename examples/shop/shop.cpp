// The demo shop: catalog, login, carts and purchases over HTTP/1.1 + JSON, with injectable faults
// and a JSON-lines request log. One coroutine per connection (keep-alive), each on its own
// strand so `Options::threads` > 1 is safe; shared state sits behind one mutex per concern.
#include "examples/shop/shop.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <deque>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace shop {

bool is_route(std::string_view name) noexcept {
  return name == "*" || std::find(kRoutes.begin(), kRoutes.end(), name) != kRoutes.end();
}

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using json = nlohmann::json;

// Carts and tokens kept; a soak creating one cart per run stays bounded in memory.
constexpr std::size_t kMaxKept = 10'000;
constexpr std::uint64_t kBodyLimit = 64 * 1024;
// An idle keep-alive connection (or a stalled peer) is dropped after this: nginx's default,
// and not a multiple of the usual probe intervals, so reuse rarely races the close.
constexpr auto kIdleTimeout = std::chrono::seconds(75);

struct Product {
  std::string_view id;
  std::string_view name;
  double price;
  int stock;  // shown and enforced per cart line, never decremented: the demo stays stable
};

constexpr Product kCatalog[] = {
    {"p-100", "Trail shoes", 89.5, 12},   {"p-101", "Rain jacket", 129.0, 5},
    {"p-102", "Wool socks", 12.9, 40},    {"p-103", "Headlamp", 34.0, 18},
    {"p-104", "Water bottle", 19.95, 25},
};

const Product* find_product(std::string_view id) {
  for (const auto& p : kCatalog)
    if (p.id == id) return &p;
  return nullptr;
}

json to_json(const Product& p) {
  return {{"id", p.id}, {"name", p.name}, {"price", p.price}, {"stock", p.stock}};
}

// Beast 1.74's string_view is boost::string_view; nlohmann and the rest of us speak std.
std::string_view sv(beast::string_view s) {
  return {s.data(), s.size()};
}

double cents(double amount) {
  return std::round(amount * 100) / 100;
}

// A map that forgets its oldest insertions beyond kMaxKept. Erased keys stay in `order_` until
// they reach the front, so both containers stay bounded by kMaxKept.
template <class V>
class Bounded {
 public:
  void put(const std::string& key, V value) {
    map_.insert_or_assign(key, std::move(value));
    order_.push_back(key);
    if (order_.size() > kMaxKept) {
      map_.erase(order_.front());
      order_.pop_front();
    }
  }
  V* find(const std::string& key) {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }
  void erase(const std::string& key) { map_.erase(key); }

 private:
  std::unordered_map<std::string, V> map_;
  std::deque<std::string> order_;
};

struct Line {
  const Product* product;
  int quantity;
};

struct Cart {
  std::vector<Line> lines;
  double total() const {
    double sum = 0;
    for (const auto& l : lines)
      sum += l.product->price * l.quantity;
    return cents(sum);
  }
  json items() const {
    json items = json::array();
    for (const auto& l : lines)
      items.push_back({{"product", l.product->id},
                       {"name", l.product->name},
                       {"price", l.product->price},
                       {"quantity", l.quantity}});
    return items;
  }
};

// What a route answers, before it becomes an HTTP response.
struct Reply {
  http::status status = http::status::ok;
  json body;
  std::vector<std::pair<http::field, std::string>> headers;
};

Reply error_reply(http::status status, std::string_view message) {
  return {status, {{"error", message}}, {}};
}

// The business logic, free of networking: routes in, replies out. Thread-safe.
class Shop {
 public:
  explicit Shop(std::uint64_t seed) : rng_(seed) {}

  Reply handle(std::string_view route, std::string_view arg,
               const http::request<http::string_body>& req) {
    if (route == "healthz") return {http::status::ok, {{"ok", true}}, {}};
    if (route == "products") return products();
    if (route == "product") return product(arg);
    if (route == "me") return me(sv(req[http::field::authorization]));
    if (route == "cart_get") return cart_get(arg);
    // The rest take a JSON object.
    json body = json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return error_reply(http::status::bad_request, "malformed JSON body");
    if (!body.is_object()) return error_reply(http::status::bad_request, "expected a JSON object");
    if (route == "login") return login(body);
    if (route == "cart_add") return cart_add(body);
    return purchase(body);  // completePurchase
  }

 private:
  static Reply products() {
    json items = json::array();
    for (const auto& p : kCatalog)
      items.push_back(to_json(p));
    return {http::status::ok, {{"items", std::move(items)}}, {}};
  }

  static Reply product(std::string_view id) {
    const Product* p = find_product(id);
    if (!p) return error_reply(http::status::not_found, "no such product");
    return {http::status::ok, to_json(*p), {}};
  }

  Reply login(const json& body) {
    auto user = body.find("user");
    auto password = body.find("password");
    if (user == body.end() || !user->is_string() || user->get_ref<const std::string&>().empty() ||
        password == body.end() || !password->is_string())
      return error_reply(http::status::bad_request,
                         "expected {\"user\": string, \"password\": string}");
    const auto& u = user->get_ref<const std::string&>();
    const auto& pw = password->get_ref<const std::string&>();
    if (pw != "demo" && !(u == "alice" && pw == "wonderland"))
      return error_reply(http::status::unauthorized, "invalid credentials");
    std::lock_guard lock(mu_);
    std::string token = new_id("t-", 16);
    tokens_.put(token, u);
    return {http::status::ok,
            {{"token", token}, {"user", u}},
            {{http::field::set_cookie, "session=" + token + "; Path=/; HttpOnly"}}};
  }

  Reply me(std::string_view authorization) {
    constexpr std::string_view kScheme = "bearer ";
    std::string token;
    if (authorization.size() > kScheme.size() &&
        std::equal(kScheme.begin(), kScheme.end(), authorization.begin(),
                   [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); }))
      token = authorization.substr(kScheme.size());
    std::lock_guard lock(mu_);
    const std::string* user = token.empty() ? nullptr : tokens_.find(token);
    if (!user) {
      Reply r = error_reply(http::status::unauthorized, "missing or unknown bearer token");
      r.headers.emplace_back(http::field::www_authenticate, "Bearer");
      return r;
    }
    return {http::status::ok, {{"user", *user}}, {}};
  }

  // {"product": id, "quantity": n} → a new cart; with "cart_id" the line goes into that cart.
  Reply cart_add(const json& body) {
    Reply bad;
    auto line = parse_line(body, bad);
    if (!line) return bad;
    std::lock_guard lock(mu_);
    std::string id;
    Cart* cart = nullptr;
    if (auto cid = body.find("cart_id"); cid != body.end()) {
      if (!cid->is_string())
        return error_reply(http::status::bad_request, "cart_id must be a string");
      id = cid->get<std::string>();
      cart = carts_.find(id);
      if (!cart) return error_reply(http::status::not_found, "no such cart");
    } else {
      id = new_id("c-", 12);
      carts_.put(id, Cart{});
      cart = carts_.find(id);
    }
    auto same = std::find_if(cart->lines.begin(), cart->lines.end(),
                             [&](const Line& l) { return l.product == line->product; });
    int quantity = line->quantity + (same == cart->lines.end() ? 0 : same->quantity);
    if (quantity > line->product->stock)
      return error_reply(http::status::conflict, "insufficient stock");
    if (same == cart->lines.end())
      cart->lines.push_back(*line);
    else
      same->quantity = quantity;
    return {http::status::created,
            {{"cart_id", id}, {"items", cart->items()}, {"total", cart->total()}},
            {{http::field::location, "/api/cart/" + id}}};
  }

  Reply cart_get(std::string_view id) {
    std::lock_guard lock(mu_);
    const Cart* cart = carts_.find(std::string(id));
    if (!cart) return error_reply(http::status::not_found, "no such cart");
    return {http::status::ok,
            {{"cart_id", id}, {"items", cart->items()}, {"total", cart->total()}},
            {}};
  }

  // {"cart_id": id} buys (and forgets) that cart; {"product": id[, "quantity": n]} is one-click.
  Reply purchase(const json& body) {
    Cart bought;
    std::lock_guard lock(mu_);
    if (auto cid = body.find("cart_id"); cid != body.end()) {
      if (!cid->is_string())
        return error_reply(http::status::bad_request, "cart_id must be a string");
      Cart* cart = carts_.find(cid->get<std::string>());
      if (!cart) return error_reply(http::status::not_found, "no such cart");
      bought = std::move(*cart);
      carts_.erase(cid->get<std::string>());
    } else if (body.contains("product")) {
      Reply bad;
      auto line = parse_line(body, bad);
      if (!line) return bad;
      bought.lines.push_back(*line);
    } else {
      return error_reply(http::status::bad_request, "expected \"cart_id\" or \"product\"");
    }
    return {http::status::ok,
            {{"order_id", new_id("o-", 12)},
             {"status", "confirmed"},
             {"total", bought.total()},
             {"items", bought.items()}},
            {}};
  }

  // "product" (required, known) and "quantity" (optional integer, 1..stock).
  static std::optional<Line> parse_line(const json& body, Reply& bad) {
    auto product = body.find("product");
    if (product == body.end() || !product->is_string()) {
      bad = error_reply(http::status::bad_request, "expected \"product\": string");
      return std::nullopt;
    }
    const Product* p = find_product(product->get_ref<const std::string&>());
    if (!p) {
      bad = error_reply(http::status::bad_request, "no such product");
      return std::nullopt;
    }
    int quantity = 1;
    if (auto q = body.find("quantity"); q != body.end()) {
      if (!q->is_number_integer() || q->get<std::int64_t>() < 1 ||
          q->get<std::int64_t>() > p->stock) {
        bad = error_reply(http::status::bad_request,
                          "quantity must be an integer from 1 to the stock");
        return std::nullopt;
      }
      quantity = q->get<int>();
    }
    return Line{p, quantity};
  }

  // Caller holds mu_.
  std::string new_id(std::string_view prefix, int hex_digits) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id(prefix);
    std::uint64_t bits = rng_();
    for (int i = 0; i < hex_digits; ++i, bits >>= 4)
      id += kHex[bits & 0xf];
    return id;
  }

  std::mutex mu_;
  std::mt19937_64 rng_;
  Bounded<std::string> tokens_;  // token -> user
  Bounded<Cart> carts_;
};

// The fault table and the RNG that decides injected errors.
class Faults {
 public:
  Faults(std::uint64_t seed, std::map<std::string, Fault> faults)
      : rng_(seed ^ 0x9e3779b97f4a7c15ULL), faults_(std::move(faults)) {}

  void set(const std::string& route, Fault fault) {
    std::lock_guard lock(mu_);
    faults_[route] = fault;
  }

  // The route's own fault, else "*", else none. `fail` is drawn here, once per request.
  Fault lookup(std::string_view route, bool& fail) {
    std::lock_guard lock(mu_);
    auto it = faults_.find(std::string(route));
    if (it == faults_.end()) it = faults_.find("*");
    Fault f = it == faults_.end() ? Fault{} : it->second;
    fail = f.error_rate > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < f.error_rate;
    return f;
  }

 private:
  std::mutex mu_;
  std::mt19937_64 rng_;
  std::map<std::string, Fault> faults_;
};

// One JSON object per line, flushed so a test can read it as soon as the response arrives.
// (A blocking write on the I/O thread: acceptable for a test target, not for the prober.)
class RequestLog {
 public:
  void open(const std::string& path) {
    if (path.empty()) return;
    out_.open(path, std::ios::app);
    if (!out_) throw std::runtime_error("cannot open request log " + path);
  }
  bool enabled() const { return out_.is_open(); }
  void write(const json& line) {
    std::string text = line.dump(-1, ' ', false, json::error_handler_t::replace);
    std::lock_guard lock(mu_);
    out_ << text << '\n' << std::flush;
  }

 private:
  std::mutex mu_;
  std::ofstream out_;
};

// Which route a method + path is. `allowed` is false for a known path with the wrong method.
struct Match {
  std::string_view route;  // empty: no such path
  std::string_view arg;    // {id} / {cart_id}
  bool allowed = true;
  const char* allow = "";
};

Match classify(http::verb method, std::string_view path) {
  auto is = [&](http::verb want, std::string_view route, std::string_view arg = {}) {
    return Match{route, arg, method == want, want == http::verb::get ? "GET" : "POST"};
  };
  auto tail = [&](std::string_view prefix) -> std::string_view {
    if (path.size() <= prefix.size() || path.substr(0, prefix.size()) != prefix) return {};
    std::string_view rest = path.substr(prefix.size());
    return rest.find('/') == std::string_view::npos ? rest : std::string_view{};
  };
  if (path == "/api/products") return is(http::verb::get, "products");
  if (auto id = tail("/api/products/"); !id.empty()) return is(http::verb::get, "product", id);
  if (path == "/api/login") return is(http::verb::post, "login");
  if (path == "/api/me") return is(http::verb::get, "me");
  if (path == "/api/cart") return is(http::verb::post, "cart_add");
  if (auto id = tail("/api/cart/"); !id.empty()) return is(http::verb::get, "cart_get", id);
  if (path == "/api/completePurchase") return is(http::verb::post, "completePurchase");
  if (path == "/healthz") return is(http::verb::get, "healthz");
  return {};
}

double unix_ms_now() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return static_cast<double>(us.count()) / 1000.0;
}

json log_line(double t_ms, const http::request<http::string_body>& req, const std::string& remote,
              unsigned status) {
  json headers = json::object();
  for (const auto& f : req) {
    std::string name(sv(f.name_string()));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto& slot = headers[name];
    std::string value(sv(f.value()));
    slot = slot.is_null() ? value : slot.get<std::string>() + ", " + value;
  }
  return {{"t_ms", t_ms},
          {"method", sv(req.method_string())},
          {"path", sv(req.target())},
          {"remote", remote},
          {"status", status},
          {"ua", sv(req[http::field::user_agent])},
          {"headers", std::move(headers)}};
}

// Everything a connection needs; outlives the io_context's handlers (see Server::Impl).
struct Context {
  Shop shop;
  Faults faults;
  RequestLog log;
  std::atomic<std::uint64_t> requests{0};
};

// Route + faults → reply. Suspends on a timer for an injected delay.
net::awaitable<Reply> answer(Context& ctx, const http::request<http::string_body>& req) {
  std::string_view target = sv(req.target());
  Match m = classify(req.method(), target.substr(0, target.find('?')));
  if (m.route.empty()) co_return error_reply(http::status::not_found, "no such route");
  if (!m.allowed) {
    Reply r = error_reply(http::status::method_not_allowed, "method not allowed");
    r.headers.emplace_back(http::field::allow, m.allow);
    co_return r;
  }
  bool fail = false;
  Fault fault = ctx.faults.lookup(m.route, fail);
  if (fault.delay_ms > 0) {
    net::steady_timer timer(co_await net::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(fault.delay_ms));
    co_await timer.async_wait(net::use_awaitable);
  }
  if (fail) co_return error_reply(static_cast<http::status>(fault.error_status), "injected fault");
  co_return ctx.shop.handle(m.route, m.arg, req);
}

http::response<http::string_body> to_response(Reply reply, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{reply.status, version};
  res.set(http::field::server, "prober-shop");
  res.set(http::field::content_type, "application/json");
  for (auto& [name, value] : reply.headers)
    res.insert(name, value);
  res.keep_alive(keep_alive);
  res.body() = reply.body.dump(-1, ' ', false, json::error_handler_t::replace);
  res.prepare_payload();
  return res;
}

// One connection: read a request, answer, repeat while keep-alive.
net::awaitable<void> session(beast::tcp_stream stream, Context& ctx) {
  beast::error_code ec;
  std::string remote = stream.socket().remote_endpoint(ec).address().to_string();
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    stream.expires_after(kIdleTimeout);
    co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) break;
    bool parse_error = ec && ec.category() == make_error_code(http::error::bad_target).category();
    if (ec && !parse_error) break;  // reset, timeout, ...
    const double t_ms = unix_ms_now();
    const auto& req = parser.get();

    Reply reply;
    if (parse_error)
      reply = error_reply(ec == http::error::body_limit ? http::status::payload_too_large
                                                        : http::status::bad_request,
                          ec.message());
    else
      reply = co_await answer(ctx, req);
    bool keep_alive = !parse_error && req.keep_alive();
    auto res = to_response(std::move(reply), parse_error ? 11 : req.version(), keep_alive);
    ctx.requests.fetch_add(1, std::memory_order_relaxed);
    if (ctx.log.enabled()) ctx.log.write(log_line(t_ms, req, remote, res.result_int()));

    stream.expires_after(kIdleTimeout);
    co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
    if (ec || !keep_alive) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

net::awaitable<void> accept_loop(net::io_context& ioc, tcp::acceptor& acceptor, Context& ctx) {
  for (;;) {
    beast::error_code ec;
    // Each connection gets its own strand: with several threads, its handlers never overlap.
    net::any_io_executor strand = net::make_strand(ioc);
    tcp::socket socket =
        co_await acceptor.async_accept(strand, net::redirect_error(net::use_awaitable, ec));
    if (ec == net::error::operation_aborted) co_return;
    if (ec) {  // e.g. out of file descriptors: back off instead of spinning
      net::steady_timer pause(ioc, std::chrono::milliseconds(50));
      co_await pause.async_wait(net::redirect_error(net::use_awaitable, ec));
      continue;
    }
    net::co_spawn(strand, session(beast::tcp_stream(std::move(socket)), ctx), net::detached);
  }
}

}  // namespace

struct Server::Impl {
  explicit Impl(Options o)
      : options(std::move(o)),
        ctx{Shop(options.seed), Faults(options.seed, options.faults), {}, {}} {}

  Options options;
  Context ctx;           // outlives the io_context and so every connection coroutine
  std::mutex lifecycle;  // start/stop
  bool started = false;
  // Made by start(), destroyed by stop(): destroying the io_context destroys the suspended
  // connection coroutines, which closes their sockets, so no client is left hanging.
  std::unique_ptr<net::io_context> ioc;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
};

namespace {
void validate(const std::string& route, const Fault& fault) {
  if (!is_route(route)) throw std::invalid_argument("shop: no such route: " + route);
  if (fault.delay_ms < 0 || !(fault.error_rate >= 0 && fault.error_rate <= 1) ||
      fault.error_status < 100 || fault.error_status > 599)
    throw std::invalid_argument("shop: bad fault for route " + route);
}
}  // namespace

Server::Server(Options options) {
  if (options.threads == 0) throw std::invalid_argument("shop: threads must be at least 1");
  for (const auto& [route, fault] : options.faults)
    validate(route, fault);
  impl_ = std::make_unique<Impl>(std::move(options));
}

Server::~Server() {
  stop();
}

unsigned short Server::start() {
  std::lock_guard lock(impl_->lifecycle);
  if (impl_->started) throw std::logic_error("shop: start() called twice");
  impl_->started = true;
  impl_->ctx.log.open(impl_->options.log_path);

  impl_->ioc = std::make_unique<net::io_context>();
  auto& ioc = *impl_->ioc;
  tcp::resolver resolver(ioc);
  tcp::endpoint endpoint =
      resolver.resolve(impl_->options.host, std::to_string(impl_->options.port))
          .begin()
          ->endpoint();
  impl_->acceptor = std::make_unique<tcp::acceptor>(ioc);
  auto& acceptor = *impl_->acceptor;
  acceptor.open(endpoint.protocol());
  acceptor.set_option(net::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(net::socket_base::max_listen_connections);
  unsigned short port = acceptor.local_endpoint().port();

  net::co_spawn(ioc, accept_loop(ioc, acceptor, impl_->ctx), net::detached);
  for (unsigned i = 0; i < impl_->options.threads; ++i)
    impl_->threads.emplace_back([&ioc] { ioc.run(); });
  return port;
}

void Server::stop() {
  std::lock_guard lock(impl_->lifecycle);
  if (!impl_->ioc) return;
  impl_->ioc->stop();
  for (auto& t : impl_->threads)
    t.join();
  impl_->threads.clear();
  impl_->acceptor.reset();  // refuse new connections
  impl_->ioc.reset();       // close open ones
}

void Server::set_fault(const std::string& endpoint, Fault fault) {
  validate(endpoint, fault);
  impl_->ctx.faults.set(endpoint, fault);
}

std::uint64_t Server::requests() const {
  return impl_->ctx.requests.load(std::memory_order_relaxed);
}

}  // namespace shop
