// generate: a synthetic orders table, the same for the same seed on every
// platform.
//
// params: "rows" (integer >= 0), "seed" (integer, default 1).
// Columns: id int64 (0..rows-1), qty int64 (1..100), price float64 (0.01 ..
// 1000.00, whole cents), weight float64 (0.001 .. 50.000), region string
// (north, south, east, west), sku string ("SKU-0000" .. "SKU-9999"), ts
// timestamp (a whole second in 2024, UTC). No nulls.
//
// The numbers come from splitmix64 and integer arithmetic only (no
// <random> distributions, whose output differs between standard libraries),
// so a seed names one table everywhere.
#include <bdp/sdk/error.hpp>

#include "params.hpp"
#include "processors.hpp"

#include <boost/json/object.hpp>

#include <array>

namespace bdp::processors {

namespace {

namespace json = boost::json;

constexpr std::int64_t kMaxRows = 1'000'000'000;
// Tables at least this big report progress every 10%.
constexpr std::size_t kProgressRows = 100'000;
constexpr std::array<std::string_view, 4> kRegions{"north", "south", "east", "west"};
constexpr std::int64_t kYear2024Micros = 1'704'067'200'000'000;  // 2024-01-01T00:00:00Z
constexpr std::uint64_t kSecondsIn2024 = 366ULL * 86'400ULL;

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

struct Options {
  std::int64_t rows = 0;
  std::int64_t seed = 1;
};

Options parse_options(const json::object& params) {
  check_keys(params, {"rows", "seed"});
  Options options;
  options.rows = get_int(params, "rows", std::nullopt, 0);
  if (options.rows > kMaxRows) {
    params_error("params.rows", "must be <= " + std::to_string(kMaxRows) + ", found " +
                                    std::to_string(options.rows));
  }
  options.seed = get_int(params, "seed", 1);
  return options;
}

class Generate final : public Processor {
 public:
  void validate(const json::object& params) const override { parse_options(params); }

  StageOutput run(ProcessorContext& context) override {
    const Options options = parse_options(context.params());
    const auto rows = static_cast<std::size_t>(options.rows);

    TableBuilder table({{"id", ColumnType::int64},
                        {"qty", ColumnType::int64},
                        {"price", ColumnType::float64},
                        {"weight", ColumnType::float64},
                        {"region", ColumnType::string},
                        {"sku", ColumnType::string},
                        {"ts", ColumnType::timestamp}});
    ColumnBuilder& id = table.column(0);
    ColumnBuilder& qty = table.column(1);
    ColumnBuilder& price = table.column(2);
    ColumnBuilder& weight = table.column(3);
    ColumnBuilder& region = table.column(4);
    ColumnBuilder& sku = table.column(5);
    ColumnBuilder& ts = table.column(6);
    for (ColumnBuilder* column : {&id, &qty, &price, &weight, &ts}) column->reserve(rows);
    region.reserve(rows, rows * 5);
    sku.reserve(rows, rows * 8);

    SplitMix64 random(static_cast<std::uint64_t>(options.seed));
    const bool report = rows >= kProgressRows;
    const std::size_t steps = report ? 10 : 1;
    std::size_t row = 0;
    char sku_text[8] = {'S', 'K', 'U', '-', '0', '0', '0', '0'};
    for (std::size_t step = 1; step <= steps; ++step) {
      const std::size_t end = rows * step / steps;
      for (; row < end; ++row) {
        id.append_int64(static_cast<std::int64_t>(row));
        qty.append_int64(static_cast<std::int64_t>(1 + random.next() % 100));
        price.append_float64(static_cast<double>(1 + random.next() % 100'000) / 100.0);
        weight.append_float64(static_cast<double>(1 + random.next() % 50'000) / 1000.0);
        region.append_string(kRegions[random.next() % kRegions.size()]);
        std::uint64_t code = random.next() % 10'000;
        for (int digit = 7; digit >= 4; --digit) {
          sku_text[digit] = static_cast<char>('0' + code % 10);
          code /= 10;
        }
        sku.append_string(std::string_view(sku_text, sizeof sku_text));
        ts.append_timestamp(kYear2024Micros +
                            static_cast<std::int64_t>(random.next() % kSecondsIn2024) * 1'000'000);
      }
      if (report) {
        context.progress(
            static_cast<double>(step) / static_cast<double>(steps),
            "generated " + std::to_string(row) + " of " + std::to_string(rows) + " rows");
      }
    }

    context.record_decision("rows", json::value(options.rows));
    context.record_decision("seed", json::value(options.seed));
    return StageOutput(table.finish());
  }
};

}  // namespace

std::unique_ptr<Processor> make_generate() {
  return std::make_unique<Generate>();
}

}  // namespace bdp::processors
