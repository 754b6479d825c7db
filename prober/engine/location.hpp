#pragma once
// A vantage point: where a run's requests come from.

#include <memory>
#include <string>
#include <vector>

#include "journeys/response.hpp"
#include "prober/transport/http.hpp"

namespace prober::engine {

struct Location {
  std::string name = "local";
  std::shared_ptr<const transport::NetProfile> net;  // null: the host's defaults
  std::vector<journeys::Header> headers;  // added to every request unless the step sets them
};

}  // namespace prober::engine
