// Naming stored processes and records on the command line and in code.
//
//   process selector  an id ("20261126T101500-3fa2c1"), "latest" (the newest
//                     process), "latest~N" (the N-th before it), or an id
//                     prefix that matches exactly one process
//   record selector   PROCESS/STAGE[/ENTITY][@vN], PROCESS a process selector;
//                     no entity = every entity of the stage, no version = the
//                     newest
//
// Errors are bdp::Error(not_found) for a selector that names nothing (with
// the closest existing names) and bdp::Error(invalid_argument) for one that
// cannot be parsed; both are one line naming the selector.
//
// Thread-safety: pure functions.
#pragma once

#include <bdp/export.hpp>
#include <bdp/sdk/records.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bdp {

// The id of the process `selector` names among `processes`, which must be
// ordered newest first (DataContainer::list_processes() is). "latest" and
// "latest~N" may be restricted to processes called `name` when it is not
// empty.
BDP_CORE_API std::string resolve_process(const std::vector<ProcessInfo>& processes,
                                         std::string_view selector, std::string_view name = {});

struct RecordSelector {
  std::string process;  // a process selector, not yet resolved
  std::string stage;
  std::optional<std::string> entity;
  std::optional<std::int64_t> version;
};

// Parses PROCESS/STAGE[/ENTITY][@vN]; validates the stage and entity names.
BDP_CORE_API RecordSelector parse_record_selector(std::string_view text);

// Up to `limit` of `candidates` closest to `wanted` (edit distance, then
// prefix), closest first: for "did you mean" lists.
BDP_CORE_API std::vector<std::string> closest_names(std::string_view wanted,
                                                    const std::vector<std::string>& candidates,
                                                    std::size_t limit = 3);

}  // namespace bdp
