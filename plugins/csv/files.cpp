#include "files.hpp"

#include <bdp/sdk/checksum.hpp>
#include <bdp/sdk/error.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <system_error>
#include <thread>
#include <utility>

namespace bdp::csv_backend {

namespace {

// Closes a descriptor at scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void write_all(int fd, std::string_view text, const fs::path& file) {
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_os("cannot write", file, errno);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

void fail_os(std::string_view what, const fs::path& file, int err) {
  const ErrorCode code = (err == ENOENT || err == ENOTDIR) ? ErrorCode::not_found : ErrorCode::io;
  throw Error(code, std::string(what) + " '" + file.string() +
                        "': " + std::error_code(err, std::generic_category()).message());
}

void make_dirs(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) fail_os("cannot create folder", dir, ENOTDIR);
    return;
  }
  if (dir.has_parent_path() && dir.parent_path() != dir) make_dirs(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return;  // created meanwhile by another process
    const int err = errno;
    throw Error(ErrorCode::io, "cannot create folder '" + dir.string() +
                                   "': " + std::error_code(err, std::generic_category()).message());
  }
  if (dir.has_parent_path()) sync_dir(dir.parent_path());
}

void sync_dir(const fs::path& dir) {
  Fd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (fd.fd < 0) fail_os("cannot open folder", dir, errno);
  if (::fsync(fd.fd) != 0) fail_os("cannot sync folder", dir, errno);
}

void write_synced(const fs::path& file, std::string_view text) {
  FileWriter writer(file);
  writer.append(text);
  writer.sync();
  writer.close();
}

FileWriter::FileWriter(fs::path file) : file_(std::move(file)) {
  fd_ = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0) fail_os("cannot create", file_, errno);
}

FileWriter::~FileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void FileWriter::append(std::string_view data) {
  write_all(fd_, data, file_);
  size_ += data.size();
#ifdef __linux__
  constexpr std::uint64_t kStep = std::uint64_t{8} << 20;
  if (size_ - started_ >= kStep) {
    // Start writing back what is there; sync() still waits for all of it.
    // A failure here only means the start is left to sync(), which reports.
    const std::uint64_t length = (size_ - started_) / kStep * kStep;
    if (::sync_file_range(fd_, static_cast<off_t>(started_), static_cast<off_t>(length),
                          SYNC_FILE_RANGE_WRITE) == 0) {
      started_ += length;
    }
  }
#endif
}

void FileWriter::sync() {
  if (::fsync(fd_) != 0) fail_os("cannot sync", file_, errno);
}

void FileWriter::close() {
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) fail_os("cannot close", file_, errno);
}

void OwnedFd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);  // read-only use or already synced: nothing to report
  fd_ = -1;
}

Worker::Worker() {
  try {
    thread_ = std::thread([this] { loop(); });
  } catch (const std::system_error&) {
    // No thread: start() runs each job on the spot.
  }
}

Worker::~Worker() {
  if (!thread_.joinable()) return;
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return !busy_; });
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void Worker::start(std::function<void()> job) {
  if (!thread_.joinable()) {
    failure_ = nullptr;
    try {
      job();
    } catch (...) {
      failure_ = std::current_exception();  // handed over by wait()
    }
    return;
  }
  {
    std::lock_guard lock(mutex_);
    job_ = std::move(job);
    busy_ = true;
  }
  changed_.notify_all();
}

void Worker::wait() {
  std::exception_ptr failure;
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return !busy_; });
    failure = std::exchange(failure_, nullptr);
  }
  if (failure) std::rethrow_exception(failure);
}

void Worker::finish() noexcept {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return !busy_; });
  failure_ = nullptr;
}

void Worker::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return busy_ || stopping_; });
    if (!busy_) return;  // stopping, nothing in hand
    std::function<void()> job = std::move(job_);
    lock.unlock();
    std::exception_ptr failure;
    try {
      job();
    } catch (...) {
      failure = std::current_exception();  // handed over by wait()
    }
    lock.lock();
    failure_ = failure;
    busy_ = false;
    changed_.notify_all();
  }
}

BackgroundJob::BackgroundJob(Worker& worker, std::function<void()> job) : worker_(worker) {
  worker_.start(std::move(job));
}

BackgroundJob::~BackgroundJob() {
  if (!waited_) worker_.finish();
}

void BackgroundJob::wait() {
  waited_ = true;
  worker_.wait();
}

void BufferFree::operator()(char* p) const noexcept {
  std::free(p);
}

Buffer allocate_buffer(std::size_t size) {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  if (size < 2 * kHuge) {
    void* p = std::malloc(std::max<std::size_t>(size, 1));
    if (p == nullptr) throw std::bad_alloc();
    return Buffer(static_cast<char*>(p));
  }
  const std::size_t rounded = (size + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, rounded);
  if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // Only advice: without huge pages the buffer works the same, slower.
  (void)::madvise(p, rounded, MADV_HUGEPAGE);
#endif
  return Buffer(static_cast<char*>(p));
}

FileBytes read_digested(const fs::path& file, std::string_view what) {
  Fd fd{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) fail_os("cannot open " + std::string(what), file, errno);
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) fail_os("cannot read " + std::string(what), file, errno);
  // One byte more than the size, to notice a file that grew meanwhile.
  std::size_t capacity = static_cast<std::size_t>(st.st_size) + 1;
  FileBytes bytes;
  bytes.data = allocate_buffer(capacity);
  Checksum sum;
  constexpr std::size_t kChunk = std::size_t{1} << 20;
  for (;;) {
    if (bytes.size == capacity) {
      Buffer bigger = allocate_buffer(capacity * 2);
      std::memcpy(bigger.get(), bytes.data.get(), bytes.size);
      bytes.data = std::move(bigger);
      capacity *= 2;
    }
    const ssize_t n =
        ::read(fd.fd, bytes.data.get() + bytes.size, std::min(kChunk, capacity - bytes.size));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_os("cannot read " + std::string(what), file, errno);
    }
    if (n == 0) break;
    sum.update(bytes.data.get() + bytes.size, static_cast<std::size_t>(n));
    bytes.size += static_cast<std::size_t>(n);
  }
  bytes.digest = sum.digest();
  return bytes;
}

void replace_file(const fs::path& temp, const fs::path& file, std::string_view text) {
  try {
    write_synced(temp, text);
    if (::rename(temp.c_str(), file.c_str()) != 0) fail_os("cannot rename into", file, errno);
  } catch (const Error&) {
    ::unlink(temp.c_str());
    throw;
  }
  sync_dir(file.parent_path());
}

std::string read_whole(const fs::path& file, std::string_view what) {
  Fd fd{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) fail_os("cannot open " + std::string(what), file, errno);
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) fail_os("cannot read " + std::string(what), file, errno);
  std::string text;
  text.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == text.size()) text.resize(text.size() * 2 + 4096);
    const ssize_t n = ::read(fd.fd, text.data() + used, text.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_os("cannot read " + std::string(what), file, errno);
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  text.resize(used);
  return text;
}

void remove_file(const fs::path& file) {
  if (::unlink(file.c_str()) != 0 && errno != ENOENT) fail_os("cannot remove", file, errno);
}

bool exists(const fs::path& file) {
  struct stat st {};
  return ::lstat(file.c_str(), &st) == 0;
}

FileLock::FileLock(const fs::path& file) : file_(file) {
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) fail_os("cannot open lock file", file, errno);
}

FileLock::FileLock(const fs::path& file, OpenExisting) : file_(file) {
  fd_ = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

void FileLock::lock(bool exclusive) {
  if (fd_ < 0) return;
  while (::flock(fd_, exclusive ? LOCK_EX : LOCK_SH) != 0) {
    if (errno != EINTR) fail_os("cannot lock", file_, errno);
  }
}

void FileLock::unlock() noexcept {
  if (fd_ >= 0) ::flock(fd_, LOCK_UN);
}

}  // namespace bdp::csv_backend
