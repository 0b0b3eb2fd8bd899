// The shared XXH64 checksum: published test vectors, incremental updates in
// any split, and the text form.
#include <boost/test/unit_test.hpp>

#include <bdp/sdk/checksum.hpp>

#include <random>
#include <string>

BOOST_AUTO_TEST_SUITE(checksum)

BOOST_AUTO_TEST_CASE(xxh64_matches_published_vectors) {
  // Reference values from the xxHash project and python-xxhash.
  BOOST_TEST(bdp::xxh64("", 0) == 0xEF46DB3751D8E999ULL);
  BOOST_TEST(bdp::xxh64("a", 1) == 0xD24EC4F1A98C6E5BULL);
  BOOST_TEST(bdp::xxh64("abc", 3) == 0x44BC2CF5AD770999ULL);
  const std::string spam = "Nobody inspects the spammish repetition";  // 39 bytes: stripes + tail
  BOOST_TEST(bdp::xxh64(spam.data(), spam.size()) == 0xFBCEA83C8A378BF1ULL);
}

BOOST_AUTO_TEST_CASE(text_form_is_prefixed_lower_case_hex_and_parses_back) {
  BOOST_TEST(bdp::checksum_text("") == "xxh64:ef46db3751d8e999");
  BOOST_TEST(bdp::format_checksum(0x1) == "xxh64:0000000000000001");
  BOOST_TEST(bdp::parse_checksum("xxh64:ef46db3751d8e999").value() == 0xEF46DB3751D8E999ULL);
  BOOST_TEST(!bdp::parse_checksum("xxh64:EF46DB3751D8E999").has_value());
  BOOST_TEST(!bdp::parse_checksum("crc32:ef46db3751d8e999").has_value());
  BOOST_TEST(!bdp::parse_checksum("xxh64:ef46db3751d8e99").has_value());
  BOOST_TEST(!bdp::parse_checksum("").has_value());
}

BOOST_AUTO_TEST_CASE(incremental_updates_in_any_split_equal_one_shot) {
  std::mt19937_64 rng(7);
  std::string data(10'000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  for (std::size_t size : {0u, 1u, 3u, 4u, 7u, 8u, 31u, 32u, 33u, 63u, 64u, 100u, 10'000u}) {
    const std::string_view part(data.data(), size);
    const std::uint64_t expected = bdp::xxh64(part.data(), part.size());
    for (int trial = 0; trial < 20; ++trial) {
      bdp::Checksum sum;
      std::size_t pos = 0;
      while (pos < size) {
        const std::size_t n = std::min<std::size_t>(size - pos, rng() % 70);
        sum.update(part.substr(pos, n));
        pos += n;
      }
      BOOST_TEST(sum.digest() == expected, "size " << size << " trial " << trial);
    }
    bdp::Checksum one;
    one.update(part);
    BOOST_TEST(one.text() == bdp::checksum_text(part));
  }
}

BOOST_AUTO_TEST_CASE(seed_and_any_changed_byte_change_the_digest) {
  const std::string text = "order_id,amount\n1,9.00\n2,17.50\n";
  BOOST_TEST(bdp::xxh64(text.data(), text.size(), 1) != bdp::xxh64(text.data(), text.size()));
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::string edited = text;
    edited[i] = static_cast<char>(edited[i] ^ 1);
    BOOST_TEST(bdp::checksum_text(edited) != bdp::checksum_text(text), "byte " << i);
  }
  BOOST_TEST(bdp::checksum_text(text.substr(0, text.size() - 1)) != bdp::checksum_text(text));
}

BOOST_AUTO_TEST_SUITE_END()
