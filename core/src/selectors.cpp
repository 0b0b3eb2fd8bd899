#include <bdp/selectors.hpp>

#include <bdp/sdk/error.hpp>
#include <bdp/sdk/names.hpp>

#include <algorithm>
#include <charconv>

namespace bdp {

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::vector<std::string> closest_names(std::string_view wanted,
                                       const std::vector<std::string>& candidates,
                                       std::size_t limit) {
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const auto& c : candidates) {
    // A candidate that starts with what was typed is as good as a near miss.
    const std::size_t score = c.starts_with(wanted) ? 0 : edit_distance(wanted, c);
    scored.emplace_back(score, c);
  }
  std::sort(scored.begin(), scored.end());
  scored.erase(std::unique(scored.begin(), scored.end()), scored.end());
  std::vector<std::string> out;
  for (const auto& [score, name] : scored) {
    if (out.size() == limit) break;
    out.push_back(name);
  }
  return out;
}

std::string resolve_process(const std::vector<ProcessInfo>& processes, std::string_view selector,
                            std::string_view name) {
  if (selector.empty()) {
    throw Error(ErrorCode::invalid_argument, "empty process selector (give an id or \"latest\")");
  }
  if (selector == "latest" || selector.starts_with("latest~")) {
    std::int64_t back = 0;
    if (selector.size() > 6) {
      const std::string_view digits = selector.substr(7);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), back);
      if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || back < 0) {
        throw Error(ErrorCode::invalid_argument,
                    "process selector '" + std::string(selector) +
                        "': expected latest or latest~N with N a whole number");
      }
    }
    std::int64_t seen = 0;
    for (const auto& p : processes) {
      if (!name.empty() && p.name != name) continue;
      if (seen++ == back) return p.id;
    }
    const std::string scope = name.empty() ? "" : " named '" + std::string(name) + "'";
    throw Error(ErrorCode::not_found, "process selector '" + std::string(selector) + "': only " +
                                          std::to_string(seen) + " stored processes" + scope);
  }
  validate_name("process id", selector);
  std::vector<std::string> ids;
  std::vector<std::string> prefixed;
  for (const auto& p : processes) {
    if (p.id == selector) return p.id;
    ids.push_back(p.id);
    if (p.id.starts_with(selector)) prefixed.push_back(p.id);
  }
  if (prefixed.size() == 1) return prefixed.front();
  if (prefixed.size() > 1) {
    prefixed.resize(std::min<std::size_t>(prefixed.size(), 3));
    throw Error(ErrorCode::not_found, "process selector '" + std::string(selector) +
                                          "' matches several processes (" + joined(prefixed) +
                                          ", ...); give more of the id");
  }
  auto close = closest_names(selector, ids);
  throw Error(ErrorCode::not_found, "no stored process '" + std::string(selector) + "'" +
                                        (close.empty() ? std::string(" (none stored)")
                                                       : " (closest: " + joined(close) + ")"));
}

RecordSelector parse_record_selector(std::string_view text) {
  auto bad = [&](const std::string& why) {
    throw Error(ErrorCode::invalid_argument, "record selector '" + std::string(text) + "': " + why +
                                                 " (expected PROCESS/STAGE[/ENTITY][@vN])");
  };
  RecordSelector out;
  std::string_view rest = text;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view version = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (version.size() < 2 || version[0] != 'v') bad("the version must look like @v3");
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(version.data() + 1, version.data() + version.size(), v);
    if (ec != std::errc() || end != version.data() + version.size() || v < 1) {
      bad("the version must look like @v3");
    }
    out.version = v;
  }
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    auto slash = rest.find('/', start);
    parts.push_back(
        rest.substr(start, slash == std::string_view::npos ? rest.npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 2 || parts.size() > 3) bad("needs a process and a stage");
  for (auto part : parts) {
    if (part.empty()) bad("an empty part");
  }
  out.process = std::string(parts[0]);
  try {
    validate_name("stage name", parts[1]);
    if (parts.size() == 3) validate_name("entity name", parts[2]);
  } catch (const Error& e) {
    bad(e.what());
  }
  out.stage = std::string(parts[1]);
  if (parts.size() == 3) out.entity = std::string(parts[2]);
  return out;
}

}  // namespace bdp
