// The CSV backend's file helpers that a store leans on and that its tests
// through the plugin cannot reach: the sync Worker's error hand-over, the
// descriptor owner and the read buffer. Compiled from the plugin's own
// plugins/csv/files.cpp.
#include <boost/test/unit_test.hpp>

#include "files.hpp"

#include <bdp/sdk/error.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

namespace {

using bdp::csv_backend::BackgroundJob;
using bdp::csv_backend::OwnedFd;
using bdp::csv_backend::Worker;

bool is_open_fd(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(csv_files)

BOOST_AUTO_TEST_CASE(worker_runs_each_job_on_its_own_thread_one_after_another) {
  Worker worker;
  const std::thread::id caller = std::this_thread::get_id();
  for (int i = 0; i < 100; ++i) {
    std::thread::id ran_on;
    int value = 0;
    worker.start([&] {
      ran_on = std::this_thread::get_id();
      value = i;
    });
    worker.wait();
    BOOST_TEST(value == i);
    BOOST_TEST((ran_on != caller));
  }
}

BOOST_AUTO_TEST_CASE(worker_hands_a_failure_to_wait_once_and_keeps_working) {
  Worker worker;
  worker.start([] { throw bdp::Error(bdp::ErrorCode::io, "cannot sync 'x.csv': disk gone"); });
  try {
    worker.wait();
    BOOST_FAIL("wait() did not rethrow the job's failure");
  } catch (const bdp::Error& e) {
    BOOST_TEST((e.code() == bdp::ErrorCode::io));
    BOOST_TEST(std::string(e.what()) == "cannot sync 'x.csv': disk gone");
  }
  // Handed over once: the next job starts clean.
  bool ran = false;
  worker.start([&] { ran = true; });
  BOOST_CHECK_NO_THROW(worker.wait());
  BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(background_job_waits_when_its_scope_is_left_by_an_error) {
  Worker worker;
  std::atomic<bool> finished{false};
  try {
    BackgroundJob job(worker, [&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      finished = true;
      throw bdp::Error(bdp::ErrorCode::io, "second failure");
    });
    throw bdp::Error(bdp::ErrorCode::io, "first failure");
  } catch (const bdp::Error& e) {
    // The caller's own error is the one that arrives, after the job ended.
    BOOST_TEST(std::string(e.what()) == "first failure");
    BOOST_TEST(finished.load());
  }
  // The job's failure was dropped with it, not left for the next wait().
  worker.start([] {});
  BOOST_CHECK_NO_THROW(worker.wait());
}

BOOST_AUTO_TEST_CASE(background_job_wait_rethrows_and_the_destructor_does_not_again) {
  Worker worker;
  bool caught = false;
  {
    BackgroundJob job(worker, [] { throw bdp::Error(bdp::ErrorCode::io, "sync failed"); });
    try {
      job.wait();
    } catch (const bdp::Error& e) {
      caught = std::string(e.what()) == "sync failed";
    }
  }
  BOOST_TEST(caught);
}

BOOST_AUTO_TEST_CASE(owned_fd_closes_once_and_moves) {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  BOOST_REQUIRE(raw >= 0);
  {
    OwnedFd a(raw);
    OwnedFd b(std::move(a));
    BOOST_TEST(!a.is_open());
    BOOST_TEST(b.get() == raw);
    OwnedFd c;
    c = std::move(b);
    BOOST_TEST(!b.is_open());
    BOOST_TEST(is_open_fd(raw));
  }
  BOOST_TEST(!is_open_fd(raw));
}

BOOST_AUTO_TEST_CASE(read_buffers_are_usable_and_large_ones_aligned_to_2_mib) {
  for (std::size_t size : {std::size_t{1}, std::size_t{4096}, std::size_t{5} << 20}) {
    auto buffer = bdp::csv_backend::allocate_buffer(size);
    BOOST_REQUIRE(buffer != nullptr);
    std::memset(buffer.get(), 0x5a, size);
    BOOST_TEST(buffer[size - 1] == 0x5a);
    if (size >= (std::size_t{4} << 20)) {
      BOOST_TEST(reinterpret_cast<std::uintptr_t>(buffer.get()) % (std::uintptr_t{2} << 20) == 0u);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
