// Liveness of processes (runner.hpp) and what depends on it: killed runs read
// as interrupted, cleanup never touches a running process or what it reads,
// orphan records are removed, and a store racing close() never strands a
// background write. Over the real memory and csv plugins, with real child
// processes.
#include <bdp/config.hpp>
#include <bdp/container.hpp>
#include <bdp/plugin_host.hpp>
#include <bdp/process.hpp>
#include <bdp/runner.hpp>
#include <bdp/sdk/backend.hpp>
#include <bdp/sdk/time.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;

bdp::TablePtr table_of(std::int64_t rows) {
  bdp::TableBuilder builder({{"id", bdp::ColumnType::int64}});
  for (std::int64_t i = 0; i < rows; ++i) builder.append_row({i});
  return builder.finish();
}

// A container over a CSV store in `dir`, in `mode`, every stage persisted.
bdp::Config csv_config(const std::filesystem::path& dir, const std::string& mode) {
  const std::string json = R"({"project": "live", "storage_strategy": {"mode": ")" + mode +
                           R"(", "backend": "files"}, "backends": {"files": {"plugin": "csv",
                           "root": "store"}}, "stages": []})";
  bdp::ConfigResolver resolver;
  resolver.set_defaults_file(bdp::test::source_dir() / "config" / "defaults.json");
  resolver.set_project(boost::json::parse(json).as_object(), "live.json", dir);
  return resolver.resolve();
}

// Runs `body` in a child process; returns its pid. The child exits 0 when
// `body` returns, 1 when it throws.
template <class Body>
pid_t spawn(Body&& body) {
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 0;
    try {
      body();
    } catch (const std::exception& e) {
      std::cerr << "child " << ::getpid() << ": " << e.what() << std::endl;
      code = 1;
    }
    ::_exit(code);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  BOOST_REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

const bdp::ProcessInfo* find(const std::vector<bdp::ProcessInfo>& ps, const std::string& id) {
  auto it = std::find_if(ps.begin(), ps.end(), [&](const auto& p) { return p.id == id; });
  return it == ps.end() ? nullptr : &*it;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(liveness)

BOOST_AUTO_TEST_CASE(a_run_whose_program_was_killed_reads_as_interrupted) {
  bdp::test::TempDir dir;
  const auto id_file = dir / "id";
  const pid_t child = spawn([&] {
    bdp::PluginHost host;
    auto container = bdp::DataContainer::open(csv_config(dir.path(), "persist"), host);
    bdp::ProcessStageHandler handler(*container);
    const std::string id = handler.initialize_process("victim");
    handler.complete_stage("load", table_of(3));
    bdp::test::write_file(id_file, id);
    ::raise(SIGKILL);  // no destructor, no finish_process: as kill -9 leaves it
  });
  const int status = wait_for(child);
  BOOST_REQUIRE(WIFSIGNALED(status));
  const std::string id = bdp::test::read_file(id_file);

  bdp::PluginHost host;
  auto container = bdp::DataContainer::open(csv_config(dir.path(), "persist"), host);
  auto processes = container->list_processes();
  const auto* victim = find(processes, id);
  BOOST_REQUIRE(victim != nullptr);
  BOOST_TEST(bdp::to_string(victim->status) == "interrupted");
  BOOST_TEST(victim->pid == child);
  BOOST_TEST(victim->host == bdp::this_runner().host);
  // The stored record itself still says running: interrupted is derived.
  auto backend = host.create_backend("csv", "files", {{"root", (dir / "store").string()}}, {});
  BOOST_TEST(bdp::to_string(backend->list_processes().front().status) == "running");
}

BOOST_AUTO_TEST_CASE(a_running_process_of_this_program_reads_as_running_and_its_heartbeat_renews) {
  bdp::test::TempDir dir;
  bdp::PluginHost host;
  auto container = bdp::DataContainer::open(csv_config(dir.path(), "persist"), host);
  bdp::ProcessStageHandler handler(*container);
  handler.set_heartbeat_interval(20ms);
  const std::string id = handler.initialize_process("alive");
  const std::int64_t first = find(container->list_processes(), id)->heartbeat_at;
  std::int64_t later = first;
  for (int i = 0; i < 200 && later == first; ++i) {
    std::this_thread::sleep_for(10ms);
    later = find(container->list_processes(), id)->heartbeat_at;
  }
  BOOST_TEST(later > first);
  const auto* p = find(container->list_processes(), id);
  BOOST_TEST(bdp::to_string(p->status) == "running");
  BOOST_TEST(p->pid == ::getpid());
  handler.finish_process();
  BOOST_TEST(bdp::to_string(find(container->list_processes(), id)->status) == "completed");
}

BOOST_AUTO_TEST_CASE(runner_gone_judges_pids_hosts_and_heartbeats) {
  const std::int64_t now = bdp::now_micros();
  bdp::ProcessInfo p;
  p.id = "p";
  p.status = bdp::ProcessStatus::running;
  // No runner recorded (an older record): never judged dead.
  BOOST_TEST(!bdp::runner_gone(p, now));
  // This program.
  bdp::stamp_runner(p, now);
  BOOST_TEST(!bdp::runner_gone(p, now));
  BOOST_TEST(bdp::to_string(bdp::effective_status(p, now)) == "running");
  // This pid, but written by an earlier program that had it.
  bdp::ProcessInfo earlier = p;
  earlier.pid_start = "another-boot/1";
  BOOST_TEST(bdp::runner_gone(earlier, now));
  // A live pid of another program: the parent of this one.
  bdp::ProcessInfo parent = p;
  parent.pid = ::getppid();
  parent.pid_start.clear();
  BOOST_TEST(!bdp::runner_gone(parent, now));
  parent.pid_start = "another-boot/1";
  BOOST_TEST(bdp::runner_gone(parent, now));
  // A pid that is free: a child that has exited and been reaped.
  const pid_t child = spawn([] {});
  wait_for(child);
  bdp::ProcessInfo dead = p;
  dead.pid = child;
  BOOST_TEST(bdp::runner_gone(dead, now));
  BOOST_TEST(bdp::to_string(bdp::effective_status(dead, now)) == "interrupted");
  dead.status = bdp::ProcessStatus::completed;
  BOOST_TEST(bdp::to_string(bdp::effective_status(dead, now)) == "completed");
  // Another host: judged by the heartbeat's age.
  bdp::ProcessInfo remote = p;
  remote.host = "some-other-host-" + p.host;
  const std::int64_t lease = std::chrono::microseconds(bdp::kHeartbeatLease).count();
  remote.heartbeat_at = now - lease + 1'000'000;
  BOOST_TEST(!bdp::runner_gone(remote, now));
  remote.heartbeat_at = now - lease - 1'000'000;
  BOOST_TEST(bdp::runner_gone(remote, now));
}

BOOST_AUTO_TEST_CASE(retention_never_removes_a_running_process_nor_the_one_it_resumes_from) {
  bdp::test::TempDir dir;
  bdp::PluginHost host;
  const bdp::Config config = csv_config(dir.path(), "persist");
  // An old finished run, which the running one below resumes from.
  std::string source;
  {
    auto container = bdp::DataContainer::open(config, host);
    bdp::ProcessStageHandler handler(*container);
    source = handler.initialize_process("live");
    handler.complete_stage("load", table_of(2));
    handler.finish_process();
  }
  std::this_thread::sleep_for(2ms);
  // A run still going (this program's, so it is alive).
  auto running_container = bdp::DataContainer::open(config, host);
  bdp::ProcessStageHandler running(*running_container);
  const std::string busy = running.initialize_process("live", {}, {}, {{"resumed_from", source}});
  running.complete_stage("load", table_of(4));
  // Three newer runs that finish, each keeping only the newest process.
  auto container = bdp::DataContainer::open(config, host);
  std::string newest;
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(2ms);
    bdp::ProcessStageHandler handler(*container);
    newest = handler.initialize_process("live");
    handler.complete_stage("load", table_of(1));
    handler.finish_process();
    bdp::RetentionRule rule;
    rule.process_name = "live";
    rule.keep_last_processes = 1;
    rule.protect_process = newest;
    container->retain(rule);
  }
  // keep_none over every record: the running process's and its source's stay.
  bdp::CleanupReport report = container->cleanup_where(bdp::Query{}, bdp::CleanupPolicy::keep_none);
  for (const auto& r : report.removed) {
    BOOST_TEST(r.process_id != busy);
    BOOST_TEST(r.process_id != source);
  }
  auto processes = container->list_processes();
  BOOST_TEST(find(processes, busy) != nullptr);
  BOOST_TEST(find(processes, source) != nullptr);
  BOOST_TEST(find(processes, newest) != nullptr);
  BOOST_TEST(processes.size() == 3u);  // the two older finished runs are gone
  BOOST_TEST(running_container->retrieve_stage_data("load").table()->num_rows() == 4u);
  BOOST_TEST(container->retrieve_stage_data("load", source).table()->num_rows() == 2u);
  running.finish_process();
}

BOOST_AUTO_TEST_CASE(remove_orphans_removes_records_without_a_process_record) {
  bdp::test::TempDir dir;
  bdp::PluginHost host;
  const bdp::Config config = csv_config(dir.path(), "persist");
  auto container = bdp::DataContainer::open(config, host);
  bdp::ProcessStageHandler handler(*container);
  const std::string kept = handler.initialize_process("live");
  handler.complete_stage("load", table_of(2));
  handler.finish_process();
  // Records of a process that has no process record.
  auto backend = host.create_backend("csv", "files", {{"root", (dir / "store").string()}}, {});
  const boost::json::object none;
  backend->store(bdp::StoreRequest{"ghost", "load", "default", none}, bdp::Payload(table_of(5)));
  backend->store(bdp::StoreRequest{"ghost", "more", "default", none}, bdp::Payload(table_of(5)));

  auto dry = container->remove_orphans(/*dry_run=*/true);
  BOOST_TEST(dry.removed.size() == 2u);
  BOOST_TEST(container->list_available_data(bdp::Query{}).size() == 3u);
  auto report = container->remove_orphans();
  BOOST_TEST(report.removed.size() == 2u);
  for (const auto& r : report.removed) BOOST_TEST(r.process_id == "ghost");
  auto left = container->list_available_data(bdp::Query{});
  BOOST_REQUIRE(left.size() == 1u);
  BOOST_TEST(left[0].process_id == kept);
  BOOST_TEST(container->remove_orphans().removed.empty());
}

BOOST_AUTO_TEST_CASE(a_store_racing_close_never_strands_a_background_write) {
  bdp::test::TempDir dir;
  // In a child with an alarm: a stranded job makes flush() wait forever.
  const pid_t child = spawn([&] {
    ::alarm(60);
    bdp::PluginHost host;
    auto container = bdp::DataContainer::open(csv_config(dir.path(), "hybrid"), host);
    container->set_process("race");
    const auto payload = table_of(1);
    for (int i = 0; i < 300; ++i) {
      std::thread store([&] { container->store_stage_data("s" + std::to_string(i % 7), payload); });
      container->close();
      store.join();
      container->flush();
    }
    container->close();
    // Every store reached the CSV store.
    if (container->list_available_data(bdp::Query{}).size() < 300u) ::_exit(3);
  });
  const int status = wait_for(child);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST((WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status)) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
