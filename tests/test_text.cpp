// Text corpora for character-level models: fortune files, CharVocabulary, text_windows.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"

using namespace tg;
using Catch::Contains;
using tg::testing::TempDir;
using tg::testing::write_file;

namespace {
std::vector<std::uint8_t> bytes_of(const std::string& s) { return std::vector<std::uint8_t>(s.begin(), s.end()); }
}  // namespace

TEST_CASE("parse_fortunes splits on lines holding only %", "[text]") {
  using V = std::vector<std::string>;
  CHECK(data::parse_fortunes("A.\n%\nB b\nc.\n%\n", "t") == V{"A.\n", "B b\nc.\n"});
  CHECK(data::parse_fortunes("%\n%\nonly\n", "t") == V{"only\n"});          // empty entries dropped
  CHECK(data::parse_fortunes("a\r\n%\r\nb\r\n", "t") == V{"a\n", "b\n"});  // CRLF read as LF
  CHECK(data::parse_fortunes("100%\n % \nend", "t") == V{"100%\n % \nend"});  // only a line of just % separates
  CHECK(data::parse_fortunes("", "t").empty());
}

TEST_CASE("load_fortunes reads the fortune files of a directory, skipping .dat and links", "[text]") {
  TempDir dir("tapegrad-text");
  write_file(dir.file("b_quotes"), bytes_of("Second file.\n%\n"));
  write_file(dir.file("a_quotes"), bytes_of("First.\n%\nAlso first.\n"));
  write_file(dir.file("a_quotes.dat"), {0, 0, 0, 2, 0xff, 0x13});  // strfile's binary index
  std::filesystem::create_symlink(dir.file("a_quotes"), dir.file("a_quotes.u8"));
  write_file(dir.file("c_gz"), tg::testing::gzip(bytes_of("Zipped.\n")));
  const std::vector<std::string> entries = data::load_fortunes(dir.str());
  CHECK(entries == std::vector<std::string>{"First.\n", "Also first.\n", "Second file.\n", "Zipped.\n"});

  SECTION("limits and refusals") {
    CHECK_THROWS_WITH(data::read_fortunes(dir.file("b_quotes"), 5),
                      Contains("read_fortunes") && Contains("b_quotes") && Contains("max_bytes = 5"));
    CHECK_THROWS_WITH(data::read_fortunes(dir.file("c_gz"), 3), Contains("c_gz") && Contains("max_bytes = 3"));
    CHECK_THROWS_WITH(data::load_fortunes(dir.str(), 20), Contains("max_bytes"));
    CHECK_THROWS_WITH(data::read_fortunes(dir.file("missing")), Contains("read_fortunes") && Contains("missing"));
    CHECK_THROWS_WITH(data::load_fortunes(dir.file("nowhere")),
                      Contains("nowhere") && Contains("not a directory") && Contains("apt-get install fortunes"));
    TempDir empty("tapegrad-text-empty");
    write_file(empty.file("x.dat"), {1, 2});
    CHECK_THROWS_WITH(data::load_fortunes(empty.str()), Contains("no fortune file"));
  }
}

TEST_CASE("CharVocabulary numbers the distinct bytes in byte order and round-trips", "[text]") {
  const data::CharVocabulary vocab("hello, world\n");
  CHECK(vocab.symbols() == "\n ,dehlorw");
  CHECK(vocab.size() == 10);
  const Tensor ids = vocab.encode("hello");
  CHECK(ids.dtype() == kInt64);
  CHECK(ids.to_vector<std::int64_t>() == std::vector<std::int64_t>{5, 4, 6, 6, 7});
  CHECK(vocab.decode(ids) == "hello");
  CHECK(vocab.decode(tensor_i64({0, 1}, {1, 2})) == "\n ");
  CHECK(data::CharVocabulary(vocab.symbols()).symbols() == vocab.symbols());  // saved symbols rebuild it
  const std::string all_bytes = [] {
    std::string s;
    for (int b = 255; b >= 0; --b) s.push_back(static_cast<char>(b));
    return s;
  }();
  const data::CharVocabulary bytes(all_bytes);
  CHECK(bytes.size() == 256);
  CHECK(bytes.encode(std::string(1, '\xff')).to_vector<std::int64_t>() == std::vector<std::int64_t>{255});

  CHECK_THROWS_WITH(data::CharVocabulary(""), Contains("CharVocabulary") && Contains("empty"));
  CHECK_THROWS_WITH(vocab.encode("help!"), Contains("encode") && Contains("byte 112") && Contains("position 3"));
  CHECK_THROWS_WITH(vocab.decode(tensor_i64({3, 10}, {2})), Contains("decode") && Contains("index 10") &&
                                                                 Contains("[0, 10)"));
  CHECK_THROWS_WITH(vocab.decode(ones({2})), Contains("decode") && Contains("int64"));
}

TEST_CASE("text_windows cuts whole windows and their next symbols", "[text]") {
  const Tensor tokens = tensor_i64(tg::testing::range(11), {11});
  const data::Batch w = data::text_windows(tokens, 3);
  CHECK(w.inputs.shape() == Shape({3, 3}));
  CHECK(w.inputs.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(w.targets.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  const data::Batch shifted = data::text_windows(tokens, 3, 2);  // 9 tokens after the offset: 2 whole windows
  CHECK(shifted.inputs.to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 3, 4, 5, 6, 7});
  CHECK(shifted.targets.to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 4, 5, 6, 7, 8});
  CHECK(data::text_windows(tokens, 10).inputs.shape() == Shape({1, 10}));

  CHECK_THROWS_WITH(data::text_windows(tokens, 11), Contains("text_windows") && Contains("fewer than the 12"));
  CHECK_THROWS_WITH(data::text_windows(tokens, 0), Contains("length must be at least 1"));
  CHECK_THROWS_WITH(data::text_windows(tokens, 2, 11), Contains("offset 11"));
  CHECK_THROWS_WITH(data::text_windows(ones({11}), 2), Contains("int64 [n]") && Contains("float32"));
  CHECK_THROWS_WITH(data::text_windows(tensor_i64({1, 2, 3, 4}, {2, 2}), 1), Contains("int64 [n]"));
}

TEST_CASE("the fortunes package, when installed, is a corpus of English text", "[text]") {
  std::string dir;
  try {
    dir = data::find_fortunes_dir();
  } catch (const std::invalid_argument& e) {
    WARN("skipped: " << e.what());
    return;
  }
  const std::vector<std::string> entries = data::load_fortunes(dir);
  std::size_t bytes = 0;
  for (const std::string& e : entries) bytes += e.size();
  CHECK(entries.size() > 1000);
  CHECK(bytes > 1000000);
  std::string all;
  for (const std::string& e : entries) all += e;
  const data::CharVocabulary vocab(all);
  CHECK(vocab.size() < 256);
  CHECK(vocab.symbols().find('e') != std::string::npos);
}
