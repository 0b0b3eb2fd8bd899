// Fuzz target: the CSV backend's index reader (bdp::csv_backend::Index,
// plugins/csv/index.cpp), compiled from the plugin's own sources.
//
// Input: the contents of an index file, <root>/.bdp/index.jsonl. With the
// input in place under a scratch root that holds nothing else:
//   1. a fresh Index reads it with the lock shared (refresh(false): read
//      only, no repair);
//   2. another reads it in two appends, the file cut at the middle byte
//      (the partial line handling and the offset kept between refreshes):
//      it must come to the same answer and the same records as (1);
//   3. another refreshes it with the lock exclusive (refresh(true):
//      repairs, rebuilds from the sidecars, settles pending stores). When
//      (1) needed no repair it must list the same records; and a fresh
//      Index must then read the repaired file with the lock shared, without
//      asking for a repair, and list the same records.
// Step 3 runs only when every record in the input points inside the root:
// an exclusive refresh deletes the files of a removed record, wherever its
// data_reference points (an absolute path, or one with ".."), and the fuzzer
// must not delete files outside its scratch root.
//
// A bdp::Error is acceptable (the backend reports a store it cannot repair
// as one). Anything else is a finding: a crash, a sanitizer report, another
// exception, or a broken expectation above.
#include "index.hpp"
#include "layout.hpp"

#include <bdp/sdk/error.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <system_error>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using bdp::csv_backend::Index;
using bdp::csv_backend::Layout;

fs::path root;

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "fuzz_csv_index: expectation broken: %s\n", what);
  std::abort();
}

void fail_os(const char* what) {
  std::perror(what);
  std::abort();
}

// Replaces the index file by `text` (a new file: a new inode).
void write_index(std::string_view text, bool append) {
  const fs::path file = Layout{root}.index_file();
  const int fd =
      ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0600);
  if (fd < 0) fail_os("fuzz_csv_index: open index");
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) fail_os("fuzz_csv_index: write index");
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  ::close(fd);
}

// Empties the scratch root but for an empty .bdp folder.
void reset_root() {
  std::error_code ec;
  fs::remove_all(root, ec);
  fs::create_directories(Layout{root}.meta_dir(), ec);
  if (ec) {
    std::fprintf(stderr, "fuzz_csv_index: cannot create %s: %s\n", root.c_str(),
                 ec.message().c_str());
    std::abort();
  }
}

// The records an index lists, as the JSON the index writes for them.
std::map<std::string, std::string> listing(const Index& index) {
  std::map<std::string, std::string> out;
  for (const auto& [id, record] : index.records())
    out.emplace(id, json::serialize(index.record_json(record)));
  return out;
}

// False when some line's record has a data_reference that is absolute or
// climbs out with "..": an exclusive refresh could delete files outside the
// root.
bool references_stay_inside(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    json::error_code ec;
    const json::value v = json::parse(text.substr(pos, nl - pos), ec);
    pos = nl + 1;
    if (ec || !v.is_object()) continue;
    const json::value* record = v.get_object().if_contains("record");
    if (record == nullptr || !record->is_object()) continue;
    const json::value* reference = record->get_object().if_contains("data_reference");
    if (reference == nullptr || !reference->is_string()) continue;
    const fs::path path(std::string(reference->get_string()));
    if (path.is_absolute()) return false;
    for (const auto& part : path)
      if (part == "..") return false;
  }
  return true;
}

struct Read {
  bool ok = false;  // refresh() needed no repair
  std::map<std::string, std::string> records;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::string pattern = (fs::temp_directory_path() / "bdp-fuzz-csv-index-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) fail_os("fuzz_csv_index: mkdtemp");
  root = pattern;
  std::atexit([] {
    std::error_code ec;
    fs::remove_all(root, ec);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Layout layout{root};
  reset_root();

  // 1. Shared, in one go.
  Read whole;
  write_index(text, false);
  try {
    Index index(layout);
    whole.ok = index.refresh(false);
    whole.records = listing(index);
  } catch (const bdp::Error&) {
    return 0;
  }

  // 2. Shared, in two appends.
  {
    write_index(text.substr(0, size / 2), false);
    Read parts;
    try {
      Index index(layout);
      index.refresh(false);
      write_index(text.substr(size / 2), true);
      parts.ok = index.refresh(false);
      parts.records = listing(index);
    } catch (const bdp::Error&) {
      broken("reading in two appends throws where reading at once did not");
    }
    if (parts.ok != whole.ok) broken("reading in two appends gives another answer");
    if (parts.ok && parts.records != whole.records)
      broken("reading in two appends lists other records");
  }

  // 3. Exclusive: repairs.
  if (!references_stay_inside(text)) return 0;
  reset_root();
  write_index(text, false);
  Read repaired;
  try {
    Index index(layout);
    repaired.ok = index.refresh(true);
    repaired.records = listing(index);
  } catch (const bdp::Error&) {
    return 0;  // a store it cannot repair (a removed record pointing at a folder, say)
  }
  if (!repaired.ok) broken("refresh(true) returned false");
  if (whole.ok && repaired.records != whole.records)
    broken("an exclusive refresh lists other records than a shared one that needed no repair");
  std::error_code ec;
  if (!fs::exists(layout.index_file(), ec)) return 0;  // a removed record pointed at the index
  Read after;
  try {
    Index index(layout);
    after.ok = index.refresh(false);
    after.records = listing(index);
  } catch (const bdp::Error&) {
    broken("reading a repaired index throws");
  }
  if (!after.ok) broken("a repaired index still needs a repair");
  if (after.records != repaired.records) broken("a repaired index lists other records on reading");
  return 0;
}
