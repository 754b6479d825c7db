#include "prober/sinks/prometheus.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>  // before asio's headers (Boost 1.74 uses std::exchange without it)
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace prober::sinks {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// ---------------------------------------------------------------------------------------------
// Rendering

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

// A bucket's `le`. OpenMetrics wants floats there ("1.0", not "1"): a scraper that mixes both
// formats would otherwise see two different series for the same bucket.
std::string format_le(const std::string& text_le, bool openmetrics) {
  if (openmetrics && text_le.find_first_of(".eEnI") == std::string::npos) return text_le + ".0";
  return text_le;
}

class Writer {
 public:
  explicit Writer(bool openmetrics) : om_(openmetrics) {}

  // Metadata of a family. `name` is the family name without `_total`; text format 0.0.4 names
  // a counter family after its sample (`x_total`), OpenMetrics after the family (`x`).
  void family(std::string_view name, std::string_view type, std::string_view help) {
    const bool counter = type == "counter";
    std::string meta(name);
    if (counter && !om_) meta += "_total";
    out_ += "# HELP ";
    out_ += meta;
    out_ += ' ';
    for (char c : help) {  // HELP escapes backslash and line feed, not quotes
      if (c == '\\')
        out_ += "\\\\";
      else if (c == '\n')
        out_ += "\\n";
      else
        out_ += c;
    }
    out_ += "\n# TYPE ";
    out_ += meta;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
    if (om_ && name.ends_with("_seconds")) {
      out_ += "# UNIT ";
      out_ += name;
      out_ += " seconds\n";
    }
  }

  void sample(std::string_view name, std::string_view suffix, const Labels& labels,
              const SampleValue& value) {
    out_ += name;
    out_ += suffix;
    if (!labels.empty()) {
      out_ += '{';
      bool first = true;
      for (const auto& [k, v] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += k;
        out_ += "=\"";
        out_ += escape_label_value(k == "le" ? format_le(v, om_) : v);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value.is_integer ? std::to_string(value.integer) : format_double(value.real);
    out_ += '\n';
  }

  std::string finish() {
    if (om_) out_ += "# EOF\n";
    return std::move(out_);
  }

 private:
  bool om_;
  std::string out_;
};

std::string_view type_name(MetricType t) {
  switch (t) {
    case MetricType::counter:
      return "counter";
    case MetricType::gauge:
      return "gauge";
    case MetricType::histogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string render_metrics(const Samples& samples, bool openmetrics) {
  Writer w(openmetrics);
  // Series are grouped by family in family order: write each family's metadata, then its series.
  std::size_t next = 0;
  for (std::size_t f = 0; f < samples.families.size(); ++f) {
    const Family& fam = samples.families[f];
    w.family(fam.name, type_name(fam.type), fam.help);
    for (; next < samples.series.size() && samples.series[next].family == f; ++next) {
      const Series& s = samples.series[next];
      w.sample(fam.name, s.suffix, s.labels, s.value);
    }
  }
  return w.finish();
}

std::string render_metrics(const record::Recorder& recorder, const engine::SchedulerStats* self,
                           bool openmetrics, const std::vector<PushSinkStats>& push) {
  return render_metrics(collect_samples(recorder, self, push), openmetrics);
}

// ---------------------------------------------------------------------------------------------
// The server

namespace {

constexpr std::size_t kMaxHeaderBytes = 8 * 1024;
constexpr std::size_t kMaxBodyBytes = 8 * 1024;  // a GET has none; a POST gets a 404 anyway
constexpr std::size_t kMaxConnections = 64;

class Connection;

}  // namespace

struct MetricsServer::State {
  State(asio::io_context& io, std::function<std::string(bool)> r, std::chrono::milliseconds t)
      : acceptor(io), retry(io), render(std::move(r)), read_timeout(t) {}
  tcp::acceptor acceptor;
  asio::steady_timer retry;  // after an accept error such as EMFILE, instead of spinning
  std::function<std::string(bool)> render;
  std::chrono::milliseconds read_timeout;
  std::map<std::uint64_t, std::weak_ptr<Connection>> connections;
  std::uint64_t next_id = 0;
  bool stopped = false;
};

namespace {

// Boost 1.74's Beast speaks boost::string_view.
std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }
beast::string_view bsv(std::string_view s) { return {s.data(), s.size()}; }

bool wants_openmetrics(std::string_view accept) {
  std::string lower(accept);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find("application/openmetrics-text") != std::string::npos;
}

// One client: read a request with the deadline, answer, repeat while kept alive. Owned by its
// pending operation's handler; the server's map holds only a weak reference to close it.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<MetricsServer::State> state, tcp::socket socket, std::uint64_t id)
      : state_(std::move(state)), stream_(std::move(socket)), id_(id) {}

  void start() { read(); }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(kMaxBodyBytes);
    // One deadline for the whole request, not per read: a client dribbling a byte at a time
    // must not be able to extend it.
    stream_.expires_after(state_->read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    if (state_->stopped || ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted)
      return finish();
    if (ec) {
      // Tell a client that sent too much why, then hang up; a broken stream just closes.
      if (ec == http::error::header_limit)
        return reply(http::status::request_header_fields_too_large, "header too large\n", 11,
                     false);
      if (ec == http::error::body_limit || ec == http::error::buffer_overflow)
        return reply(http::status::payload_too_large, "request too large\n", 11, false);
      if (ec.category() == http::make_error_code(http::error::bad_method).category())
        return reply(http::status::bad_request, "bad request\n", 11, false);
      return finish();
    }

    const auto& req = parser_->get();
    std::string_view target = sv(req.target());
    target = target.substr(0, target.find('?'));
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();

    if (target != "/metrics" && target != "/healthz")
      return reply(http::status::not_found, "not found\n", version, keep_alive);
    if (req.method() != http::verb::get) {
      res_.emplace();
      res_->set(http::field::allow, "GET");
      return reply(http::status::method_not_allowed, "method not allowed\n", version, keep_alive,
                   false);
    }
    if (target == "/healthz") return reply(http::status::ok, "ok", version, keep_alive);

    const bool om = wants_openmetrics(sv(req[http::field::accept]));
    std::string body;
    try {
      body = state_->render(om);
    } catch (const std::exception& e) {
      return reply(http::status::internal_server_error, std::string(e.what()) + "\n", version,
                   false);
    }
    res_.emplace();
    res_->set(http::field::content_type, bsv(om ? kOpenMetricsContentType : kTextContentType));
    reply(http::status::ok, std::move(body), version, keep_alive, false);
  }

  // fresh: start a new response (else res_ was prepared by the caller).
  void reply(http::status status, std::string body, unsigned version, bool keep_alive,
             bool fresh = true) {
    if (fresh || !res_) res_.emplace();
    res_->result(status);
    res_->version(version);
    res_->set(http::field::server, "prober");
    if (res_->find(http::field::content_type) == res_->end())
      res_->set(http::field::content_type, "text/plain; charset=utf-8");
    res_->keep_alive(keep_alive);
    res_->body() = std::move(body);
    res_->prepare_payload();
    stream_.expires_after(state_->read_timeout);  // a client that does not read is dropped too
    http::async_write(stream_, *res_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->on_write(ec);
                      });
  }

  void on_write(beast::error_code ec) {
    const bool again = !ec && !state_->stopped && res_->keep_alive();
    res_.reset();
    if (!again) return finish();
    read();
  }

  void finish() {
    close();
    state_->connections.erase(id_);
  }

  std::shared_ptr<MetricsServer::State> state_;
  beast::tcp_stream stream_;
  std::uint64_t id_;
  beast::flat_buffer buffer_{kMaxHeaderBytes + kMaxBodyBytes};
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> res_;
};

void accept_next(const std::shared_ptr<MetricsServer::State>& state) {
  state->acceptor.async_accept([state](beast::error_code ec, tcp::socket socket) {
    if (state->stopped || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors and the like: try again shortly rather than spin on the error.
      state->retry.expires_after(std::chrono::milliseconds(100));
      state->retry.async_wait([state](beast::error_code wait_ec) {
        if (!wait_ec && !state->stopped) accept_next(state);
      });
      return;
    }
    if (state->connections.size() < kMaxConnections) {
      const std::uint64_t id = state->next_id++;
      auto conn = std::make_shared<Connection>(state, std::move(socket), id);
      state->connections.emplace(id, conn);
      conn->start();
    }  // else: the socket closes here; a scraper retries on its next interval
    accept_next(state);
  });
}

tcp::endpoint parse_listen(const std::string& listen) {
  const auto fail = [&](const std::string& why) {
    return std::runtime_error("metrics listen address \"" + listen + "\": " + why);
  };
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw fail("expected IP:port");
  std::string host = listen.substr(0, colon);
  const std::string port_text = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  beast::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) throw fail("the host must be an IP address literal");
  unsigned port = 0;
  const auto r = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || r.ec != std::errc() || r.ptr != port_text.data() + port_text.size() ||
      port > 65535)
    throw fail("bad port");
  return {address, static_cast<std::uint16_t>(port)};
}

}  // namespace

MetricsServer::MetricsServer(asio::io_context& io, std::string listen,
                             std::function<std::string(bool openmetrics)> render,
                             std::chrono::milliseconds read_timeout)
    : state_(std::make_shared<State>(io, std::move(render), read_timeout)) {
  const tcp::endpoint endpoint = parse_listen(listen);
  beast::error_code ec;
  auto& a = state_->acceptor;
  const auto check = [&](const char* what) {
    if (ec)
      throw std::runtime_error("metrics: cannot " + std::string(what) + " " + listen + ": " +
                               ec.message());
  };
  a.open(endpoint.protocol(), ec);
  check("open a socket for");
  a.set_option(tcp::acceptor::reuse_address(true), ec);
  check("set SO_REUSEADDR on");
  a.bind(endpoint, ec);
  check("bind");
  a.listen(asio::socket_base::max_listen_connections, ec);
  check("listen on");
  port_ = a.local_endpoint(ec).port();
  check("read the port of");
  accept_next(state_);
}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  beast::error_code ec;
  state_->acceptor.close(ec);
  state_->retry.cancel();
  // Handlers run later (never inline), so closing while iterating is safe; copy anyway since
  // each finished connection erases itself.
  const auto connections = std::exchange(state_->connections, {});
  for (const auto& [id, weak] : connections)
    if (auto c = weak.lock()) c->close();
}

}  // namespace prober::sinks
