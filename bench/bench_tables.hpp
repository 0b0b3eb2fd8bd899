// The tables the benchmarks store, built the same way in each.
#pragma once

#include <bdp/sdk/table.hpp>

#include <cstdint>
#include <string>

namespace bdp::bench {

// `rows` rows shaped like the `generate` processor's output: id, qty (int64),
// price, weight (float64), region, sku (string) and, when `with_timestamp`,
// ts (timestamp). Deterministic.
inline TablePtr orders_table(std::int64_t rows, bool with_timestamp) {
  Schema schema{{"id", ColumnType::int64},      {"qty", ColumnType::int64},
                {"price", ColumnType::float64}, {"weight", ColumnType::float64},
                {"region", ColumnType::string}, {"sku", ColumnType::string}};
  if (with_timestamp) schema.push_back({"ts", ColumnType::timestamp});
  TableBuilder b(schema);
  b.reserve(static_cast<std::size_t>(rows));
  const char* regions[] = {"north", "south", "east", "west"};
  for (std::int64_t i = 0; i < rows; ++i) {
    b.column(0).append_int64(i);
    b.column(1).append_int64(i % 97);
    b.column(2).append_float64(static_cast<double>(i % 1000) / 7.0);
    b.column(3).append_float64(static_cast<double>(i % 333) * 0.25);
    b.column(4).append_string(regions[i % 4]);
    b.column(5).append_string("SKU-" + std::to_string(i % 5000));
    if (with_timestamp) b.column(6).append_timestamp(1'700'000'000'000'000 + i * 1000);
  }
  return b.finish();
}

}  // namespace bdp::bench
