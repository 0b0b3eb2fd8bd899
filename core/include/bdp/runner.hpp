// Liveness of processes: who runs a process (host, pid and an identity of
// that operating-system process) is saved in its record, so that a record
// left `running` by a program that was killed can be told from a run that
// is still going, on this host or another.
//
// On this host a run is alive while its pid exists and still belongs to the
// same program (same boot, same start time). A run on another host cannot be
// probed: it is alive while its heartbeat is fresh. ProcessStageHandler
// renews the heartbeat every kHeartbeatInterval while a process runs.
//
// Thread-safety: every function here may be called from any thread.
#pragma once

#include <bdp/export.hpp>
#include <bdp/sdk/records.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace bdp {

// How often a running process renews its heartbeat, and how old a heartbeat
// from another host may be before that run counts as interrupted.
inline constexpr std::chrono::seconds kHeartbeatInterval{10};
inline constexpr std::chrono::seconds kHeartbeatLease{60};

// This program, as ProcessInfo's runner fields record it.
struct RunnerIdentity {
  std::string host;       // gethostname()
  std::int64_t pid = 0;   // getpid()
  std::string pid_start;  // "<boot id>/<start time in clock ticks>" on Linux; "" elsewhere
};

// The identity of the calling program (computed once per program, and anew
// in a child made by fork()).
BDP_CORE_API RunnerIdentity this_runner();

// Fills `process`'s runner fields with this program's identity and sets its
// heartbeat to `now` (µs).
BDP_CORE_API void stamp_runner(ProcessInfo& process, std::int64_t now);

// True when the program recorded as running `process` is gone: on this host
// its pid is free or belongs to another program; on another host its
// heartbeat is older than kHeartbeatLease at `now` (µs). False when it may
// still run, and for records that name no runner (written by bdp before
// runners were recorded): those are never judged dead.
BDP_CORE_API bool runner_gone(const ProcessInfo& process, std::int64_t now);

// The status to show: `interrupted` for a `running` record whose runner is
// gone (runner_gone), else the recorded status.
BDP_CORE_API ProcessStatus effective_status(const ProcessInfo& process, std::int64_t now);

}  // namespace bdp
