#include "index.hpp"

#include "files.hpp"

#include <bdp/sdk/checksum.hpp>
#include <bdp/sdk/error.hpp>
#include <bdp/sdk/names.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

namespace bdp::csv_backend {

namespace json = boost::json;

namespace {

constexpr std::string_view kHeader = R"({"bdp_csv_index":1})";

// A line ends with `,"sum":"xxh64:<16 hex digits>"}`: the checksum of the
// line without it, which ends with the '}' the sum replaced.
constexpr std::string_view kSumKey = R"(,"sum":")";
constexpr std::size_t kSumText = 22;  // "xxh64:" + 16 hex digits
constexpr std::size_t kSumTail = kSumKey.size() + kSumText + 2;

// `line` as the index keeps it: serialised, with its "sum".
std::string line_text(const json::object& line) {
  std::string text = json::serialize(line);
  const std::string sum = checksum_text(text);
  text.pop_back();  // the closing brace
  text += kSumKey;
  text += sum;
  text += "\"}";
  return text;
}

enum class Sum { none, good, bad };

// Whether `line` ends with a "sum" and whether it matches.
Sum check_sum(std::string_view line) {
  if (line.size() <= kSumTail || !line.ends_with("\"}") ||
      line.substr(line.size() - kSumTail, kSumKey.size()) != kSumKey) {
    return Sum::none;
  }
  const auto expected = parse_checksum(line.substr(line.size() - 2 - kSumText, kSumText));
  if (!expected) return Sum::bad;
  Checksum sum;
  sum.update(line.substr(0, line.size() - kSumTail));
  sum.update("}");
  return sum.digest() == *expected ? Sum::good : Sum::bad;
}

// Microseconds since the epoch of a stat's modification time.
std::int64_t mtime_micros(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000 + st.st_mtim.tv_nsec / 1000;
}

// N of "v<N>" + `suffix`, or 0.
std::int64_t version_of(std::string_view name, std::string_view suffix) {
  if (name.size() <= suffix.size() + 1 || name[0] != 'v' || !name.ends_with(suffix)) return 0;
  std::string_view digits = name.substr(1, name.size() - 1 - suffix.size());
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || n <= 0) return 0;
  if (digits[0] == '0') return 0;
  return n;
}

std::string get_string(const json::object& o, std::string_view key, bool& ok) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    ok = false;
    return {};
  }
  return std::string(v->get_string());
}

}  // namespace

void Index::reset() {
  dev_ = 0;
  ino_ = 0;
  offset_ = 0;
  records_.clear();
  by_process_.clear();
  by_stage_.clear();
  max_version_.clear();
  pending_.clear();
  from_sidecars_ = false;
}

json::object Index::record_json(const RecordInfo& record) const {
  json::object o = record.to_json();
  o["data_reference"] = fs::path(record.data_reference).lexically_relative(layout_.root).string();
  return o;
}

RecordInfo Index::record_from_json(const json::value& value, const std::string& where) const {
  RecordInfo r = RecordInfo::from_json(value, where);
  if (!r.data_reference.empty() && r.data_reference.front() != '/') {
    // root / relative, without building paths (the index reads many)
    r.data_reference.insert(0, root_prefix_);
  } else {
    r.data_reference = (layout_.root / r.data_reference).string();
  }
  return r;
}

RecordInfo Index::damaged_record(const std::string& process, const std::string& stage,
                                 const std::string& entity, std::int64_t version,
                                 std::string damage) const {
  RecordInfo r;
  r.process_id = process;
  r.stage_name = stage;
  r.entity_name = entity;
  r.version = version;
  r.id = id_of(process, stage, entity, version);
  r.storage_type = StorageType::reference;
  const fs::path dir = layout_.entity_dir(process, stage, entity);
  // Where its data file would be when none is there, so that removing the
  // record finds its folder.
  r.data_reference = (dir / data_name(version, PayloadKind::table)).string();
  struct stat st {};
  for (PayloadKind kind : {PayloadKind::table, PayloadKind::json}) {
    const fs::path data = dir / data_name(version, kind);
    if (::stat(data.c_str(), &st) == 0) {
      r.kind = kind;
      r.data_reference = data.string();
      r.size_bytes = static_cast<std::int64_t>(st.st_size);
      break;
    }
  }
  if (::stat((dir / sidecar_name(version)).c_str(), &st) == 0) r.created_at = mtime_micros(st);
  r.damage = std::move(damage);
  return r;
}

RecordInfo Index::read_sidecar(const std::string& process, const std::string& stage,
                               const std::string& entity, std::int64_t version) const {
  const fs::path sidecar = layout_.entity_dir(process, stage, entity) / sidecar_name(version);
  auto damaged = [&](std::string why) {
    return damaged_record(process, stage, entity, version, std::move(why));
  };
  std::string text;
  try {
    text = read_whole(sidecar, "sidecar");
  } catch (const Error& e) {
    if (e.code() == ErrorCode::not_found) throw;
    return damaged(e.what());  // unreadable (io): the record is there, its sidecar is not usable
  }
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return damaged("malformed sidecar '" + sidecar.string() + "': " + ec.message());
  RecordInfo r;
  try {
    r = record_from_json(v, sidecar.string());
  } catch (const Error& e) {
    return damaged(e.what());  // names the sidecar and the field
  }
  const std::string expected = id_of(process, stage, entity, version);
  if (r.id != expected) {
    return damaged("sidecar '" + sidecar.string() + "' describes record '" + r.id +
                   "', expected '" + expected + "'");
  }
  return r;
}

const RecordInfo* Index::find(const std::string& id) const {
  auto it = records_.find(id);
  return it == records_.end() ? nullptr : &it->second;
}

std::int64_t Index::next_version(const std::string& key) const {
  auto it = max_version_.find(key);
  return it == max_version_.end() ? 1 : it->second + 1;
}

void Index::added(const RecordInfo& record) {
  auto& v = max_version_[key_of(record.process_id, record.stage_name, record.entity_name)];
  v = std::max(v, record.version);
  pending_.erase(record.id);
  auto [it, inserted] = records_.insert_or_assign(record.id, record);
  if (inserted) link(it->second);
}

void Index::removed(const std::string& id) {
  auto it = records_.find(id);
  if (it == records_.end()) return;
  unlink(it->second);
  records_.erase(it);
}

void Index::link(const RecordInfo& record) {
  by_process_[record.process_id].insert(&record);
  by_stage_[record.stage_name].insert(&record);
}

void Index::unlink(const RecordInfo& record) {
  auto drop = [&](std::unordered_map<std::string, Bucket>& map, const std::string& key) {
    auto it = map.find(key);
    if (it == map.end()) return;
    it->second.erase(&record);
    if (it->second.empty()) map.erase(it);
  };
  drop(by_process_, record.process_id);
  drop(by_stage_, record.stage_name);
}

std::vector<const RecordInfo*> Index::candidates(const Query& query) const {
  std::vector<const RecordInfo*> out;
  auto bucket = [&](const std::unordered_map<std::string, Bucket>& map, const std::string& key) {
    if (auto it = map.find(key); it != map.end()) out.assign(it->second.begin(), it->second.end());
  };
  if (query.process_id) {
    bucket(by_process_, *query.process_id);
  } else if (query.stage_name) {
    bucket(by_stage_, *query.stage_name);
  } else {
    out.reserve(records_.size());
    for (const auto& [id, record] : records_) out.push_back(&record);
  }
  return out;
}

bool Index::open_file() {
  const fs::path file = layout_.index_file();
  OwnedFd fd(::open(file.c_str(), (read_only_ ? O_RDONLY : O_RDWR | O_APPEND) | O_CLOEXEC));
  if (!fd.is_open()) {
    if (errno != ENOENT) fail_os("cannot open index", file, errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail_os("cannot read index", file, errno);
  if (st.st_dev != dev_ || st.st_ino != ino_) {
    reset();
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  }
  fd_ = std::move(fd);
  return true;
}

bool Index::refresh(bool exclusive) {
  const fs::path file = layout_.index_file();
  // Read-only: every repair happens in memory, and only in memory.
  if (read_only_) exclusive = false;
  const auto rebuild_in_memory = [&] {
    if (!from_sidecars_) rebuild();
    return true;
  };
  // The index stays open between calls. A path that names another file now
  // was rebuilt (replaced) by another process: it is read anew. With the
  // lock held nobody replaces it while it is read.
  struct stat st {};
  bool present = ::stat(file.c_str(), &st) == 0;
  if (!present && errno != ENOENT) fail_os("cannot read index", file, errno);
  if (present && (!fd_.is_open() || st.st_dev != dev_ || st.st_ino != ino_)) {
    present = open_file();
    if (present && ::fstat(fd_.get(), &st) != 0) fail_os("cannot read index", file, errno);
  }
  if (!present) {
    if (read_only_) return rebuild_in_memory();
    if (!exclusive) return false;
    rebuild();
    return true;
  }
  if (static_cast<std::uint64_t>(st.st_size) < offset_) {
    // Shorter than what was read (cut by hand): read it again from the start.
    reset();
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > offset_) {
    std::string text(size - offset_, '\0');
    std::size_t used = 0;
    while (used < text.size()) {
      const ssize_t n = ::pread(fd_.get(), text.data() + used, text.size() - used,
                                static_cast<off_t>(offset_ + used));
      if (n < 0) {
        if (errno == EINTR) continue;
        fail_os("cannot read index", file, errno);
      }
      if (n == 0) break;
      used += static_cast<std::size_t>(n);
    }
    text.resize(used);
    if (offset_ == 0) {
      // Read from the start: room for about as many records as lines.
      const std::size_t lines =
          static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
      records_.reserve(lines);
      max_version_.reserve(lines);
    }
    std::size_t pos = 0;
    for (;;) {
      const std::size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) break;
      if (!apply(std::string_view(text).substr(pos, nl - pos), offset_ + pos, exclusive)) {
        if (read_only_) {
          rebuild();
          return true;
        }
        if (!exclusive) return false;
        rebuild();
        return true;
      }
      pos = nl + 1;
    }
    if (pos < text.size() && exclusive) {
      // A partial last line: a writer died while appending it (writers hold
      // the lock, so no live one is). Cut it; its store is settled below.
      if (::ftruncate(fd_.get(), static_cast<off_t>(offset_ + pos)) != 0) {
        fail_os("cannot repair index", file, errno);
      }
    }
    offset_ += pos;
  }
  if (offset_ == 0) {
    // An empty file: a crash between creating and filling it.
    if (read_only_) return rebuild_in_memory();
    if (!exclusive) return false;
    rebuild();
    return true;
  }
  if (!pending_.empty()) {
    if (!exclusive && !read_only_) return false;
    auto pending = pending_;
    for (const auto& [id, p] : pending) settle(id, p);
  }
  return true;
}

bool Index::apply(std::string_view line, std::uint64_t at, bool exclusive) {
  // The line's JSON lives in a block on the stack (more goes to the heap),
  // freed at once at the end instead of node by node.
  unsigned char block[8192];
  json::monotonic_resource scratch(block, sizeof block);
  json::error_code ec;
  json::value v = json::parse(line, ec, &scratch);
  if (ec || !v.is_object()) return false;
  const json::object& o = v.get_object();
  if (at == 0) return json::serialize(o) == kHeader;
  const Sum sum = check_sum(line);
  if (sum == Sum::bad || (sum == Sum::none && o.contains("sum"))) return false;
  bool ok = true;
  const std::string op = get_string(o, "op", ok);
  if (!ok) return false;
  if (op == "add") {
    const json::value* rec = o.if_contains("record");
    if (rec == nullptr) return false;
    try {
      // Where the line is only matters to a message nobody sees: a damaged
      // line makes the caller rebuild the index.
      added(record_from_json(*rec, "index"));
    } catch (const Error&) {
      return false;  // a damaged line: the caller rebuilds the index from the sidecars
    }
    return true;
  }
  if (op == "begin") {
    Pending p;
    p.process = get_string(o, "process_id", ok);
    p.stage = get_string(o, "stage_name", ok);
    p.entity = get_string(o, "entity_name", ok);
    const json::value* version = o.if_contains("version");
    if (!ok || version == nullptr || !version->is_int64() || !is_valid_name(p.process) ||
        !is_valid_name(p.stage) || !is_valid_name(p.entity)) {
      return false;
    }
    p.version = version->get_int64();
    pending_[id_of(p.process, p.stage, p.entity, p.version)] = std::move(p);
    return true;
  }
  const std::string id = get_string(o, "id", ok);
  if (!ok) return false;
  if (op == "abort") {
    pending_.erase(id);
    return true;
  }
  if (op == "remove") {
    auto it = records_.find(id);
    if (it != records_.end()) {
      if (exclusive) {
        // The remover may have died between this line and its unlinks.
        const fs::path dir = fs::path(it->second.data_reference).parent_path();
        remove_file(dir / sidecar_name(it->second.version));
        remove_file(it->second.data_reference);
      }
      unlink(it->second);
      records_.erase(it);
    }
    return true;
  }
  return false;
}

bool Index::data_in_place(const RecordInfo& record) {
  // Both files were synced before either rename, and both renames before
  // the folder's sync; a crash in between can leave the sidecar's rename
  // on disk without the data file's. Its temp file is then complete.
  const fs::path data = record.data_reference;
  struct stat st {};
  if (::stat(data.c_str(), &st) != 0) {
    if (read_only_) return false;  // not readable where the record says it is
    const fs::path temp = temp_of(data);
    if (::stat(temp.c_str(), &st) != 0 || st.st_size != record.size_bytes) return false;
    if (::rename(temp.c_str(), data.c_str()) != 0) fail_os("cannot rename into", data, errno);
    sync_dir(data.parent_path());
  }
  return st.st_size == record.size_bytes;
}

void Index::settle(const std::string& id, const Pending& p) {
  const fs::path dir = layout_.entity_dir(p.process, p.stage, p.entity);
  const fs::path sidecar = dir / sidecar_name(p.version);
  const fs::path files[] = {dir / data_name(p.version, PayloadKind::table),
                            dir / data_name(p.version, PayloadKind::json)};
  // The sidecar is renamed into place last, after the data file is synced
  // and renamed: when it is there, the store completed but for its "add".
  if (csv_backend::exists(sidecar)) {
    RecordInfo r = read_sidecar(p.process, p.stage, p.entity, p.version);
    // A sidecar that cannot be read was complete when it was renamed into
    // place and was damaged since: the record is kept, listed as damaged.
    if (!r.damage.empty() || (r.id == id && data_in_place(r))) {
      if (!read_only_) append(json::object{{"op", "add"}, {"record", record_json(r)}}, true);
      added(r);
      return;
    }
  }
  // Read-only: not listed, and left for the next writer to undo on disk.
  if (read_only_) return;
  remove_file(sidecar);
  remove_file(temp_of(sidecar));
  for (const auto& f : files) {
    remove_file(f);
    remove_file(temp_of(f));
  }
  append(json::object{{"op", "abort"}, {"id", id}}, true);
  pending_.erase(id);
}

void Index::append(const json::object& line, bool sync) {
  const fs::path file = layout_.index_file();
  if (read_only_) {
    throw Error(ErrorCode::internal, "index '" + file.string() + "' is open read-only");
  }
  std::string text = line_text(line);
  text.push_back('\n');
  if (!fd_.is_open() && !open_file()) fail_os("cannot open index", file, ENOENT);
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) fail_os("cannot append to index", file, errno);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd_.get(), text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      // Leave no partial line behind.
      if (::ftruncate(fd_.get(), st.st_size) != 0) {
        // The partial line is cut by the next writer's refresh instead.
      }
      fail_os("cannot append to index", file, err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (sync && ::fdatasync(fd_.get()) != 0) fail_os("cannot sync index", file, errno);
  // Our own line: skip it on the next refresh.
  if (static_cast<std::uint64_t>(st.st_size) == offset_ && st.st_ino == ino_ && st.st_dev == dev_) {
    offset_ += text.size();
  }
}

void Index::sync() const {
  const fs::path file = layout_.index_file();
  if (!fd_.is_open()) fail_os("cannot sync index", file, EBADF);
  if (::fdatasync(fd_.get()) != 0) fail_os("cannot sync index", file, errno);
}

void Index::rebuild() {
  reset();
  std::vector<RecordInfo> found;
  std::error_code ec;
  auto dirs = [&](const fs::path& parent) {
    std::vector<fs::path> out;
    for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (is_valid_name(name) && it->is_directory(ec)) out.push_back(it->path());
    }
    if (ec) fail_os("cannot list folder", parent, ec.value());
    return out;
  };
  for (const auto& p : dirs(layout_.root)) {
    for (const auto& s : dirs(p)) {
      for (const auto& e : dirs(s)) {
        std::vector<fs::path> data_files;
        std::vector<std::int64_t> sidecars;
        for (fs::directory_iterator it(e, ec), end; !ec && it != end; it.increment(ec)) {
          const fs::path path = it->path();
          const std::string name = path.filename().string();
          if (name.starts_with(".") && name.ends_with(".tmp")) {
            if (!read_only_) remove_file(path);
          } else if (std::int64_t n = version_of(name, ".meta.json"); n != 0) {
            // A damaged sidecar is indexed marked: its data file stays.
            sidecars.push_back(n);
            found.push_back(read_sidecar(p.filename().string(), s.filename().string(),
                                         e.filename().string(), n));
          } else if (version_of(name, ".csv") != 0 || version_of(name, ".json") != 0) {
            data_files.push_back(path);
          }
        }
        if (ec) fail_os("cannot list folder", e, ec.value());
        for (const auto& f : data_files) {
          const std::string name = f.filename().string();
          const std::int64_t n =
              name.ends_with(".csv") ? version_of(name, ".csv") : version_of(name, ".json");
          // Data without a sidecar: a store that died before completing.
          if (std::find(sidecars.begin(), sidecars.end(), n) == sidecars.end() && !read_only_) {
            remove_file(f);
          }
        }
      }
    }
  }
  std::sort(found.begin(), found.end(), [](const RecordInfo& a, const RecordInfo& b) {
    return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
  });
  const fs::path file = layout_.index_file();
  if (read_only_) {
    // The view only. An index file that is there (damaged, or empty) is
    // read from its current end on: what writers append later applies on
    // top of the view, and a writer that replaces it makes it read anew.
    OwnedFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (fd.is_open() && ::fstat(fd.get(), &st) == 0) {
      dev_ = st.st_dev;
      ino_ = st.st_ino;
      offset_ = static_cast<std::uint64_t>(st.st_size);
      fd_ = std::move(fd);
    }
    for (auto& r : found) added(r);
    from_sidecars_ = true;
    return;
  }
  std::string text(kHeader);
  text.push_back('\n');
  for (const auto& r : found) {
    text += line_text(json::object{{"op", "add"}, {"record", record_json(r)}});
    text.push_back('\n');
  }
  replace_file(temp_of(file), file, text);
  if (!open_file()) fail_os("cannot open index", file, ENOENT);
  offset_ = text.size();
  for (auto& r : found) added(r);
}

}  // namespace bdp::csv_backend
