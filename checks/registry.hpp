#pragma once
// The one registry of check kinds: adding a kind is one new file and one line in registry.cpp.

#include "journeys/check.hpp"

namespace checks {

// Every check kind, keyed by its name under a step's `expect` table.
const journeys::CheckCatalog& catalog();

}  // namespace checks
