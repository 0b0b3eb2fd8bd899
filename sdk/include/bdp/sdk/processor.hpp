// A Processor is the logic of one kind of stage in a config-driven run
// ("read_csv", "filter", ...). The host validates a stage's params with
// validate() when the configuration is loaded, before anything runs, then
// calls run() once per stage execution.
//
// Thread-safety: one Processor object serves one stage at a time.
#pragma once

#include <bdp/sdk/payload.hpp>
#include <bdp/sdk/plugin_abi.hpp>

#include <boost/config.hpp>
#include <boost/json/fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace bdp {

// What the host gives a running stage.
class BOOST_SYMBOL_VISIBLE ProcessorContext {
 public:
  virtual ~ProcessorContext();

  virtual const std::string& stage_name() const noexcept = 0;
  // The stage's "params" object, with runtime overrides applied.
  virtual const boost::json::object& params() const noexcept = 0;
  // Names of the stages listed in the stage's "inputs", in order.
  virtual const std::vector<std::string>& input_names() const noexcept = 0;
  // The output of input stage `stage`; throws bdp::Error(not_found) for a
  // stage that is not among the inputs.
  virtual const StageOutput& input(std::string_view stage) const = 0;
  // A path from the config, resolved against the project file's folder.
  virtual std::filesystem::path resolve_path(std::string_view path) const = 0;
  // Reports progress (0..1) of a long stage.
  virtual void progress(double fraction, std::string_view message = {}) = 0;
  // Records a decision the stage took; stored with its data.
  virtual void record_decision(std::string_view key, const boost::json::value& value) = 0;
};

class BOOST_SYMBOL_VISIBLE Processor {
 public:
  virtual ~Processor();

  // The SDK ABI minor this object's plugin was built for. It is set where
  // the object is constructed, inside the plugin, so the host knows which
  // virtual functions the object's vtable has: one appended to this class
  // in minor N is called only on objects whose sdk_abi_minor() >= N (see
  // docs/sdk.md, "ABI policy").
  std::uint32_t sdk_abi_minor() const noexcept { return sdk_abi_minor_; }

  // Checks a stage's params. Throws bdp::Error(config) whose message starts
  // with the key path inside params ("params.column: ...").
  virtual void validate(const boost::json::object& params) const = 0;

  // Computes the stage's output. Throws bdp::Error on failure.
  virtual StageOutput run(ProcessorContext& context) = 0;

 private:
  std::uint32_t sdk_abi_minor_ = kSdkAbiMinor;
};

}  // namespace bdp
