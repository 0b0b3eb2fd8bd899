// Small POSIX file helpers for the CSV backend: every failure becomes a
// bdp::Error naming the file and the operating system's message; files are
// created 0600 and folders 0700. Not thread-safe by themselves (plain
// functions over paths; FileLock is one lock held by one owner).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace bdp::csv_backend {

namespace fs = std::filesystem;

// Throws bdp::Error(io, or not_found for ENOENT) "<what> '<file>': <OS message>".
[[noreturn]] void fail_os(std::string_view what, const fs::path& file, int err);

// Creates `dir` and its missing parents (mode 0700), fsyncing the parent of
// each folder it creates so the new entries survive a crash.
void make_dirs(const fs::path& dir);

// fsync of a folder, so renames and unlinks in it are durable.
void sync_dir(const fs::path& dir);

// Writes `text` to `file` (created 0600, truncated), fsyncs and closes it.
void write_synced(const fs::path& file, std::string_view text);

// A file written front to back: created 0600 (truncated) by the
// constructor, filled by append(), made durable by sync() and closed by
// close(); the destructor only closes it. Every full 8 MiB appended is
// handed to the disk at once (sync_file_range on Linux), so a long file is
// written while the caller produces the rest and sync() waits only for the
// tail. Errors name the file. One owner; not copyable.
class FileWriter {
 public:
  explicit FileWriter(fs::path file);
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  void append(std::string_view data);
  void sync();
  void close();

  const fs::path& path() const noexcept { return file_; }
  std::uint64_t size() const noexcept { return size_; }

 private:
  fs::path file_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::uint64_t started_ = 0;  // bytes whose writeback has been started
};

// An open file descriptor, closed by the destructor; movable.
class OwnedFd {
 public:
  OwnedFd() = default;
  explicit OwnedFd(int fd) noexcept : fd_(fd) {}
  ~OwnedFd() { reset(); }
  OwnedFd(OwnedFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  OwnedFd& operator=(OwnedFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;

  int get() const noexcept { return fd_; }
  bool is_open() const noexcept { return fd_ >= 0; }
  void reset() noexcept;

 private:
  int fd_ = -1;
};

// A thread kept for running jobs (fsyncs, say) in the background, one at
// a time, so that they overlap what the caller does next without the cost
// of starting a thread each time. Without a thread to be had, jobs run on
// the spot. Not for use by several threads at once.
class Worker {
 public:
  Worker();
  ~Worker();  // waits for the job in hand, then stops the thread
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts `job`; the previous one must have been waited for.
  void start(std::function<void()> job);
  // Waits for the job started last; rethrows its failure.
  void wait();
  // Waits for it and drops its failure (see BackgroundJob).
  void finish() noexcept;

 private:
  void loop();
  std::mutex mutex_;
  std::condition_variable changed_;
  std::function<void()> job_;
  bool busy_ = false;
  bool stopping_ = false;
  std::exception_ptr failure_;
  std::thread thread_;
};

// A job started on a Worker for a scope: wait() waits for it and rethrows
// its failure. The destructor waits too, but reports nothing: it runs only
// when the caller is already leaving with an error of its own, which is
// the one to report.
class BackgroundJob {
 public:
  BackgroundJob(Worker& worker, std::function<void()> job);
  ~BackgroundJob();
  BackgroundJob(const BackgroundJob&) = delete;
  BackgroundJob& operator=(const BackgroundJob&) = delete;

  void wait();

 private:
  Worker& worker_;
  bool waited_ = false;
};

// Frees what allocate_buffer() returned.
struct BufferFree {
  void operator()(char* p) const noexcept;
};
using Buffer = std::unique_ptr<char[], BufferFree>;

// `size` bytes, uninitialised. A large buffer is aligned to 2 MiB and, on
// Linux, advised to be backed by transparent huge pages: filling it then
// takes one page fault per 2 MiB instead of one per 4 KiB, which for a
// file read into fresh memory costs more than the copy itself. Throws
// std::bad_alloc.
Buffer allocate_buffer(std::size_t size);

// A whole file read into one buffer, with the XXH64 digest of its bytes
// (computed while they are in cache).
struct FileBytes {
  Buffer data;
  std::size_t size = 0;
  std::uint64_t digest = 0;
  std::string_view view() const noexcept { return {data.get(), size}; }
};

// Reads `file` as read_whole does, digesting it on the way.
FileBytes read_digested(const fs::path& file, std::string_view what);

// Atomically replaces `file` with `text`: writes `temp` (same folder),
// fsyncs, renames over `file`, fsyncs the folder. Removes `temp` on failure.
void replace_file(const fs::path& temp, const fs::path& file, std::string_view text);

// The whole file. Throws bdp::Error(not_found) when it does not exist,
// bdp::Error(io) when it cannot be read.
std::string read_whole(const fs::path& file, std::string_view what);

// Unlinks `file`; a file that is already gone is fine.
void remove_file(const fs::path& file);

// True when `file` exists (any type).
bool exists(const fs::path& file);

// An exclusive or shared flock(2) on a lock file, released by unlock() or
// the destructor. One object per owner; not copyable.
class FileLock {
 public:
  explicit FileLock(const fs::path& file);  // opens (creates 0600) the lock file

  // For readers that may create nothing: opens `file` only if it exists and
  // can be read (read-only: a shared flock needs no write permission). When
  // it cannot be opened (missing, no permission) the lock is absent:
  // present() is false and lock() and unlock() do nothing.
  struct OpenExisting {};
  FileLock(const fs::path& file, OpenExisting);

  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  bool present() const noexcept { return fd_ >= 0; }
  void lock(bool exclusive);
  void unlock() noexcept;

 private:
  fs::path file_;
  int fd_ = -1;
};

// Holds a FileLock for a scope.
class LockGuard {
 public:
  LockGuard(FileLock& lock, bool exclusive) : lock_(lock) { lock_.lock(exclusive); }
  ~LockGuard() { lock_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  FileLock& lock_;
};

}  // namespace bdp::csv_backend
