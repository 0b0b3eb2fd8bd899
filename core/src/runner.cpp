#include <bdp/runner.hpp>

#include <cerrno>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string_view>

#include <signal.h>
#include <unistd.h>

namespace bdp {

namespace {

std::string host_name() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0) return "unknown-host";
  return buffer;
}

std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

// Field 22 of /proc/PID/stat (the start time in clock ticks since boot), or
// "" when the process does not exist or the file cannot be read. The second
// field, the command name, is in parentheses and may contain spaces: count
// fields from the last ')'.
std::string start_ticks(std::int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  const auto close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  // After ')': field 3 (state) is the first; field 22 is the 20th.
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> field)) return {};
  }
  return field;
}

std::string identity_of(std::int64_t pid, const std::string& boot) {
  const std::string ticks = start_ticks(pid);
  if (ticks.empty() || boot.empty()) return {};
  return boot + "/" + ticks;
}

bool pid_exists(std::int64_t pid) {
  if (pid <= 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) == 0) return true;
  return errno == EPERM;  // exists, owned by another user
}

}  // namespace

RunnerIdentity this_runner() {
  // Computed once per program; a child made by fork() is another program
  // with another pid, so it computes its own.
  static std::mutex mutex;
  static RunnerIdentity identity;
  const auto pid = static_cast<std::int64_t>(::getpid());
  std::lock_guard lock(mutex);
  if (identity.pid != pid) {
    identity.host = host_name();
    identity.pid = pid;
    identity.pid_start = identity_of(pid, boot_id());
  }
  return identity;
}

void stamp_runner(ProcessInfo& process, std::int64_t now) {
  const RunnerIdentity me = this_runner();
  process.host = me.host;
  process.pid = me.pid;
  process.pid_start = me.pid_start;
  process.heartbeat_at = now;
}

bool runner_gone(const ProcessInfo& process, std::int64_t now) {
  if (process.host.empty() || process.pid <= 0) return false;  // no runner recorded
  const RunnerIdentity me = this_runner();
  if (process.host == me.host) {
    if (process.pid == me.pid) {
      // This very program, unless a previous one with the same pid wrote it.
      return !process.pid_start.empty() && !me.pid_start.empty() &&
             process.pid_start != me.pid_start;
    }
    if (!pid_exists(process.pid)) return true;
    if (process.pid_start.empty()) return false;  // cannot tell a reused pid apart
    const std::string now_identity = identity_of(process.pid, boot_id());
    if (now_identity.empty()) return false;  // could not read it: assume alive
    // Another boot, or the pid now belongs to a program started later.
    return now_identity != process.pid_start;
  }
  const std::int64_t lease =
      std::chrono::duration_cast<std::chrono::microseconds>(kHeartbeatLease).count();
  return process.heartbeat_at > 0 && now - process.heartbeat_at > lease;
}

ProcessStatus effective_status(const ProcessInfo& process, std::int64_t now) {
  if (process.status == ProcessStatus::running && runner_gone(process, now)) {
    return ProcessStatus::interrupted;
  }
  return process.status;
}

}  // namespace bdp
