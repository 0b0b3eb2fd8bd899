// The backend conformance suite: the behaviour every storage backend must
// show, as a list of named checks that any test framework can run. The
// project runs it on each of its backends; plugin authors run it on theirs.
//
//   bdp::conformance::Options options;          // what the backend supports
//   auto factory = [&] { return make_my_backend(dir); };
//   for (const auto& check : bdp::conformance::checks(options)) {
//     check.run(factory);                       // throws on failure
//   }
//
// A check calls the factory once or more: every call must return a backend
// over the SAME storage (for persistent backends: a new object that reopens
// it; for in-memory ones: the same object), empty when the check starts its
// first call. A check throws bdp::conformance::Failure (or any exception
// from the backend) naming what did not hold.
#pragma once

#include <bdp/sdk/backend.hpp>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace bdp::conformance {

struct Options {
  // Stored data outlives the backend object (a new object from the factory
  // sees it). False for the memory backend.
  bool persistent = true;
};

using Factory = std::function<std::shared_ptr<Backend>()>;

struct Check {
  std::string name;  // says the behaviour: "store_then_retrieve_round_trips_every_type"
  std::function<void(const Factory&)> run;
};

class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The checks that apply to a backend with `options`.
std::vector<Check> checks(const Options& options);

}  // namespace bdp::conformance
