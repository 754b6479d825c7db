// prober-shop: the demo shop as its own process, for tests and for pointing a prober at by hand.
// Prints exactly one line, `listening on http://HOST:PORT`, once it accepts connections, then
// serves until SIGTERM or SIGINT and exits 0. Bad arguments: a message on stderr, exit 2.
#include "examples/shop/shop.hpp"

#include <charconv>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

namespace {

constexpr std::string_view kUsage =
    "usage: prober-shop [--host H] [--port N] [--threads N] [--seed N] [--log FILE]\n"
    "                   [--delay ROUTE=MS]... [--error-rate ROUTE=FRACTION]...\n"
    "                   [--error-status ROUTE=CODE]...\n"
    "ROUTE: products product login me cart_add cart_get completePurchase healthz, or * for all\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// `text` as a T within [lo, hi], or a UsageError naming the argument.
template <class T>
T number(std::string_view arg, std::string_view text, T lo, T hi) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < lo || value > hi)
    throw UsageError("bad value for " + std::string(arg) + ": '" + std::string(text) + "'");
  return value;
}

// "ROUTE=VALUE" → the route's fault, creating it on first mention.
shop::Fault& fault_for(shop::Options& o, std::string_view arg, std::string_view text,
                       std::string_view& value) {
  auto eq = text.find('=');
  std::string route(text.substr(0, eq));
  if (eq == std::string_view::npos || !shop::is_route(route))
    throw UsageError("bad value for " + std::string(arg) + ": '" + std::string(text) +
                     "' (want ROUTE=VALUE with a known route)");
  value = text.substr(eq + 1);
  return o.faults[route];
}

shop::Options parse(int argc, char** argv) {
  shop::Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      std::exit(0);
    }
    // Both `--name value` and `--name=value`.
    std::string_view text;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      text = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      text = argv[++i];
    } else {
      throw UsageError("missing value for " + std::string(arg));
    }
    std::string_view value;
    if (arg == "--host") {
      o.host = text;
    } else if (arg == "--port") {
      o.port = number<unsigned short>(arg, text, 0, 65535);
    } else if (arg == "--threads") {
      o.threads = number<unsigned>(arg, text, 1, 256);
    } else if (arg == "--seed") {
      o.seed = number<std::uint64_t>(arg, text, 0, UINT64_MAX);
    } else if (arg == "--log") {
      o.log_path = text;
    } else if (arg == "--delay") {
      auto& f = fault_for(o, arg, text, value);
      f.delay_ms = number<int>(arg, value, 0, 3'600'000);
    } else if (arg == "--error-rate") {
      auto& f = fault_for(o, arg, text, value);
      f.error_rate = number<double>(arg, value, 0.0, 1.0);
    } else if (arg == "--error-status") {
      auto& f = fault_for(o, arg, text, value);
      f.error_status = number<int>(arg, value, 100, 599);
    } else {
      throw UsageError("unknown argument " + std::string(arg));
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  shop::Options options;
  try {
    options = parse(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "prober-shop: " << e.what() << '\n' << kUsage;
    return 2;
  }
  try {
    // Before the server's threads exist, so a signal never finds the default disposition.
    boost::asio::io_context ioc;
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([](const boost::system::error_code&, int) {});

    std::string host =
        options.host.find(':') == std::string::npos ? options.host : "[" + options.host + "]";
    shop::Server server(std::move(options));
    unsigned short port = server.start();
    std::cout << "listening on http://" << host << ':' << port << std::endl;
    ioc.run();  // until the signal
    server.stop();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "prober-shop: " << e.what() << '\n';
    return 1;
  }
}
