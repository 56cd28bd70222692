// The CSV reader against small files written here: quoting (RFC 4180), headers,
// skip_rows, delimiters, categorical columns (indices and one-hot), the target
// by name and by index, gzip, and every refusal with the line, row and column
// it names (missing value, non-numeric cell, ragged rows, empty file, limits).
#include <catch2/catch.hpp>

#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"

using namespace tg;
using Catch::Contains;
using tg::testing::check_values;
using tg::testing::TempDir;
namespace data = tg::data;

namespace {

std::string write(const TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.file(name), std::ios::binary) << text;
  return dir.file(name);
}

std::string write_gzip(const TempDir& dir, const std::string& name, const std::string& text) {
  gzFile gz = gzopen(dir.file(name).c_str(), "wb");
  REQUIRE(gz != nullptr);
  REQUIRE(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())) == static_cast<int>(text.size()));
  REQUIRE(gzclose(gz) == Z_OK);
  return dir.file(name);
}

// The message of the std::invalid_argument that f throws ("" when it does not throw).
template <class F> std::string refusal(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  FAIL("no std::invalid_argument was thrown");
  return "";
}

}  // namespace

TEST_CASE("read_csv: numeric columns with a header, the target by name, index and -1", "[data][csv]") {
  TempDir dir;
  const std::string path = write(dir, "t.csv", "a,b,label\n1,2.5,1\n-3,4e2,0\n+5, 6 ,2\n");
  data::CsvOptions o;
  o.target = "label";
  const data::CsvData by_name = data::read_csv(path, o);
  CHECK(by_name.columns == std::vector<std::string>{"a", "b", "label"});
  CHECK(by_name.feature_names == std::vector<std::string>{"a", "b"});
  CHECK(by_name.target_name == "label");
  CHECK(by_name.features.shape() == Shape({3, 2}));
  CHECK(by_name.features.dtype() == kFloat32);
  check_values(by_name.features, {1, 2.5, -3, 400, 5, 6});
  CHECK(by_name.targets.dtype() == kInt64);
  check_values(by_name.targets, {1, 0, 2});
  CHECK(by_name.classes == std::vector<std::string>{"0", "1", "2"});
  CHECK(by_name.rows() == 3);

  o.target = 2;
  check_values(data::read_csv(path, o).targets, {1, 0, 2});
  o.target = -1;
  check_values(data::read_csv(path, o).targets, {1, 0, 2});
  o.target = 0;  // the first column as the target: "a" has labels -3, 1, 5
  const data::CsvData first = data::read_csv(path, o);
  CHECK(first.classes == std::vector<std::string>{"-3", "1", "+5"});  // sorted by value, kept as written
  check_values(first.targets, {1, 0, 2});
  check_values(first.features, {2.5, 1, 400, 0, 6, 2});

  o.target = data::CsvColumn::parse("-1");
  CHECK(!o.target.by_name());
  check_values(data::read_csv(path, o).targets, {1, 0, 2});
  CHECK(data::CsvColumn::parse("label").by_name());

  // No target: every column is a feature; float64 on request.
  data::CsvOptions plain;
  plain.dtype = kFloat64;
  const data::CsvData all = data::read_csv(path, plain);
  CHECK(all.features.dtype() == kFloat64);
  CHECK(all.features.shape() == Shape({3, 3}));
  CHECK(!all.targets.defined());
}

TEST_CASE("read_csv: quoting as RFC 4180 has it", "[data][csv]") {
  TempDir dir;
  // A quoted delimiter, a doubled quote, a line break inside quotes, CRLF line ends.
  const std::string path = write(dir, "q.csv",
                                 "\"x, the first\",name,y\r\n"
                                 "1,\"Smith, John\",a\r\n"
                                 "2,\"say \"\"hi\"\"\",b\r\n"
                                 "3,\"two\nlines\",a\r\n"
                                 "4,plain,b\r\n");
  data::CsvOptions o;
  o.target = "y";
  o.categorical = {"name"};
  o.encoding = data::CategoricalEncoding::Index;
  const data::CsvData d = data::read_csv(path, o);
  CHECK(d.columns == std::vector<std::string>{"x, the first", "name", "y"});
  REQUIRE(d.categories.size() == 1);
  CHECK(d.categories[0].first == "name");
  CHECK(d.categories[0].second == std::vector<std::string>{"Smith, John", "plain", "say \"hi\"", "two\nlines"});
  check_values(d.features, {1, 0, 2, 2, 3, 3, 4, 1});
  check_values(d.targets, {0, 1, 0, 1});
  CHECK(d.classes == std::vector<std::string>{"a", "b"});

  // The line after a quoted line break is counted: the error is on line 5.
  write(dir, "q2.csv", "v,w\n1,\"a\nb\"\n2,\n");
  data::CsvOptions categorical_w;
  categorical_w.categorical = {"w"};
  const std::string m = refusal([&] { data::read_csv(dir.file("q2.csv"), categorical_w); });
  CHECK_THAT(m, Contains("line 4 (data row 2)"));

  // An unterminated quote names the line it opened on; a stray character after a closing quote is refused.
  write(dir, "open.csv", "a,b\n1,\"never closed\n2,3\n");
  CHECK_THAT(refusal([&] { data::read_csv(dir.file("open.csv")); }),
             Contains("line 2: a quoted field is never closed"));
  write(dir, "stray.csv", "a,b\n1,\"x\"y\n");
  CHECK_THAT(refusal([&] { data::read_csv(dir.file("stray.csv")); }),
             Contains("line 2: unexpected 'y' after the closing quote of field 2"));
}

TEST_CASE("read_csv: delimiter, no header, skip_rows, blank lines, a byte-order mark", "[data][csv]") {
  TempDir dir;
  // sklearn's layout: a summary line, then rows without a header, the target last.
  const std::string path = write(dir, "s.csv", "3,2,no,yes\n0.5;1;1\n\n1.5;2;0\n2.5;3;1\n");
  data::CsvOptions o;
  o.skip_rows = 1;
  o.has_header = false;
  o.delimiter = ';';
  o.target = -1;
  const data::CsvData d = data::read_csv(path, o);
  CHECK(d.columns == std::vector<std::string>{"0", "1", "2"});
  check_values(d.features, {0.5, 1, 1.5, 2, 2.5, 3});
  check_values(d.targets, {1, 0, 1});

  // Tab-separated, with a UTF-8 byte-order mark before the header.
  const std::string tsv = write(dir, "t.tsv", "\xEF\xBB\xBF" "p\tq\n1\t2\n");
  data::CsvOptions t;
  t.delimiter = '\t';
  const data::CsvData td = data::read_csv(tsv, t);
  CHECK(td.columns == std::vector<std::string>{"p", "q"});
  check_values(td.features, {1, 2});

  o.skip_rows = 9;
  CHECK_THAT(refusal([&] { data::read_csv(path, o); }), Contains("has 5 lines, fewer than skip_rows = 9"));
}

TEST_CASE("read_csv: categorical columns as indices or one-hot", "[data][csv]") {
  TempDir dir;
  const std::string path = write(dir, "c.csv",
                                 "size,colour,id,species\n"
                                 "1,red,17,cat\n"
                                 "2,blue,18,dog\n"
                                 "3,red,19,cat\n"
                                 "4,green,20,bird\n");
  data::CsvOptions o;
  o.target = "species";
  o.categorical = {"colour"};
  o.ignore = {"id"};
  const data::CsvData hot = data::read_csv(path, o);  // one-hot is the default
  CHECK(hot.feature_names == std::vector<std::string>{"size", "colour=blue", "colour=green", "colour=red"});
  check_values(hot.features, {1, 0, 0, 1,  //
                              2, 1, 0, 0,  //
                              3, 0, 0, 1,  //
                              4, 0, 1, 0});
  CHECK(hot.classes == std::vector<std::string>{"bird", "cat", "dog"});
  check_values(hot.targets, {1, 2, 1, 0});

  o.encoding = data::CategoricalEncoding::Index;
  o.categorical = {1};  // by index this time
  const data::CsvData idx = data::read_csv(path, o);
  CHECK(idx.feature_names == std::vector<std::string>{"size", "colour"});
  check_values(idx.features, {1, 2, 2, 0, 3, 2, 4, 1});

  // A numeric target as values (regression).
  data::CsvOptions reg;
  reg.target = "size";
  reg.target_kind = data::CsvTargetKind::Values;
  reg.categorical = {"colour", "species"};
  reg.dtype = kFloat64;
  const data::CsvData r = data::read_csv(path, reg);
  CHECK(r.targets.dtype() == kFloat64);
  check_values(r.targets, {1, 2, 3, 4});
  CHECK(r.feature_names.size() == 1 + 3 + 3);
}

TEST_CASE("read_csv: gzip input, recognised by its magic bytes", "[data][csv]") {
  TempDir dir;
  std::string text = "f1,f2,y\n";
  for (int i = 0; i < 500; ++i) text += std::to_string(i) + "," + std::to_string(2 * i) + "," + std::to_string(i % 3) + "\n";
  const std::string gz = write_gzip(dir, "table.csv.gz", text);
  const std::string disguised = write_gzip(dir, "table.csv", text);  // the name does not matter
  data::CsvOptions o;
  o.target = "y";
  for (const std::string& path : {gz, disguised}) {
    const data::CsvData d = data::read_csv(path, o);
    CHECK(d.features.shape() == Shape({500, 2}));
    CHECK(d.features.to_vector<double>()[2 * 499 + 1] == 998);
    CHECK(d.targets.to_vector<std::int64_t>()[499] == 499 % 3);
  }
  // A gzip stream cut short is refused.
  const std::string whole = tg::testing::read_text(gz);
  write(dir, "cut.csv.gz", whole.substr(0, whole.size() / 2));
  CHECK_THAT(refusal([&] { data::read_csv(dir.file("cut.csv.gz"), o); }),
             Contains("cut.csv.gz") && Contains("truncated: the gzip stream is cut off"));

  // As the IDX reader (the same byte source): concatenated gzip members are one
  // stream, as gunzip reads them; other bytes after the data are refused.
  const std::string head = tg::testing::read_text(write_gzip(dir, "head.gz", "f1,f2,y\n1,2,0\n"));
  const std::string tail = tg::testing::read_text(write_gzip(dir, "tail.gz", "3,4,1\n"));
  const data::CsvData joined = data::read_csv(write(dir, "members.csv.gz", head + tail), o);
  CHECK(joined.features.to_vector<double>() == std::vector<double>{1, 2, 3, 4});
  CHECK(joined.targets.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1});
  CHECK_THAT(refusal([&] { data::read_csv(write(dir, "garbage.csv.gz", head + "junk"), o); }),
             Contains("read_csv: '") && Contains("garbage.csv.gz") && Contains("4 bytes after the end of the gzip data") &&
                 Contains("trailing garbage"));
  CHECK_THAT(refusal([&] { data::read_csv(dir.str()); }), Contains("it is a directory, not a CSV file"));
}

TEST_CASE("read_csv: missing values name the line, data row and column", "[data][csv]") {
  TempDir dir;
  const std::string path = write(dir, "missing.csv", "a,b,c\n1,2,3\n4,,6\n");
  const std::string m = refusal([&] { data::read_csv(path); });
  CHECK_THAT(m, Contains("read_csv"));
  CHECK_THAT(m, Contains("missing.csv"));
  CHECK_THAT(m, Contains("line 3 (data row 2)"));
  CHECK_THAT(m, Contains("column 'b' (index 1)"));
  CHECK_THAT(m, Contains("missing value"));

  write(dir, "na.csv", "1,2\n3,NA\n");
  data::CsvOptions no_header;
  no_header.has_header = false;
  const std::string na = refusal([&] { data::read_csv(dir.file("na.csv"), no_header); });
  CHECK_THAT(na, Contains("line 2 (data row 2), column index 1: missing value 'NA'"));

  // A missing target is refused the same way.
  data::CsvOptions t;
  t.target = "c";
  write(dir, "t.csv", "a,b,c\n1,2,\n");
  CHECK_THAT(refusal([&] { data::read_csv(dir.file("t.csv"), t); }), Contains("line 2 (data row 1), column 'c' (index 2)"));
}

TEST_CASE("read_csv: a non-numeric cell in a numeric column", "[data][csv]") {
  TempDir dir;
  const std::string path = write(dir, "text.csv", "x,y\n1,2\n3,abc\n");
  const std::string m = refusal([&] { data::read_csv(path); });
  CHECK_THAT(m, Contains("text.csv' line 3 (data row 2), column 'y' (index 1): 'abc' is not a number"));
  CHECK_THAT(m, Contains("CsvOptions::categorical"));
  for (const char* cell : {"1.5.2", "0x10", "12abc", "inf"}) {
    write(dir, "bad.csv", std::string("x\n") + cell + "\n");
    INFO(cell);
    CHECK_THAT(refusal([&] { data::read_csv(dir.file("bad.csv")); }), Contains(std::string("'") + cell + "'"));
  }
  write(dir, "huge.csv", "x\n1e999\n");
  CHECK_THAT(refusal([&] { data::read_csv(dir.file("huge.csv")); }), Contains("'1e999' is not"));
}

TEST_CASE("read_csv: empty files, ragged rows and bad column references", "[data][csv]") {
  TempDir dir;
  CHECK_THAT(refusal([&] { data::read_csv(write(dir, "empty.csv", "")); }), Contains("empty.csv' is empty"));
  CHECK_THAT(refusal([&] { data::read_csv(write(dir, "blank.csv", "\n\n")); }), Contains("has no data"));
  CHECK_THAT(refusal([&] { data::read_csv(write(dir, "header.csv", "a,b\n")); }),
             Contains("header.csv' has a header (line 1) but no data rows"));
  CHECK_THAT(refusal([&] { data::read_csv(dir.file("nowhere.csv")); }), Contains("nowhere.csv': cannot open"));
  CHECK_THAT(refusal([&] { data::read_csv(dir.str()); }), Contains("is a directory"));

  const std::string ragged = write(dir, "ragged.csv", "a,b,c\n1,2,3\n4,5\n");
  CHECK_THAT(refusal([&] { data::read_csv(ragged); }),
             Contains("ragged.csv' line 3 (data row 2) has 2 fields, but the header (line 1) has 3"));
  data::CsvOptions no_header;
  no_header.has_header = false;
  write(dir, "long.csv", "1,2\n3,4\n5,6,7\n");
  CHECK_THAT(refusal([&] { data::read_csv(dir.file("long.csv"), no_header); }),
             Contains("line 3 (data row 3) has 3 fields, but the first row (line 1) has 2"));

  data::CsvOptions o;
  o.target = "z";
  CHECK_THAT(refusal([&] { data::read_csv(ragged, o); }), Contains("no column named 'z' (the target column); the header has 'a', 'b', 'c'"));
  o.target = 3;
  CHECK_THAT(refusal([&] { data::read_csv(ragged, o); }), Contains("target column index 3 is out of range for 3 columns"));
  no_header.target = "a";
  CHECK_THAT(refusal([&] { data::read_csv(dir.file("long.csv"), no_header); }), Contains("no header"));
}

TEST_CASE("read_csv: max_bytes refuses large files and tables before allocating them", "[data][csv]") {
  TempDir dir;
  std::string text = "a\n";
  for (int i = 0; i < 1000; ++i) text += "1\n";
  data::CsvOptions o;
  o.max_bytes = 1000;
  CHECK_THAT(refusal([&] { data::read_csv(write(dir, "big.csv", text), o); }),
             Contains("big.csv' holds more than max_bytes = 1000 bytes"));
  CHECK_THAT(refusal([&] { data::read_csv(write_gzip(dir, "big.csv.gz", text), o); }),
             Contains("after gzip decompression"));
  CHECK_THAT(refusal([&] { data::parse_csv(text, o); }), Contains("<text>"));

  // 200 rows of distinct categories: one-hot would be [200,200] float32 = 160000 bytes.
  std::string cats = "c\n";
  for (int i = 0; i < 200; ++i) cats += "k" + std::to_string(i) + "\n";
  data::CsvOptions c;
  c.categorical = {"c"};
  c.max_bytes = 100000;
  CHECK_THAT(refusal([&] { data::parse_csv(cats, c); }), Contains("the features table [200,200] float32 would take 160000 bytes"));
  c.encoding = data::CategoricalEncoding::Index;
  CHECK(data::parse_csv(cats, c).features.shape() == Shape({200, 1}));

  // A line of delimiters: 201 empty fields would be 201 strings; the header may keep 1000 / 32.
  data::CsvOptions small;
  small.max_bytes = 1000;
  CHECK_THAT(refusal([&] { data::parse_csv(std::string(200, ',') + "\n", small); }),
             Contains("line 1 has more than 31 fields"));
  // A later row that long is only counted.
  CHECK_THAT(refusal([&] { data::parse_csv("a,b\n1,2\n" + std::string(300, ',') + "\n", small); }),
             Contains("line 3 (data row 2) has 301 fields, but the header (line 1) has 2"));
  // A target of unique labels: the classes' texts are bounded too.
  std::string unique = "x,y\n";
  for (int i = 0; i < 60; ++i) unique += "1,label" + std::to_string(i) + "\n";
  small.target = "y";
  CHECK_THAT(refusal([&] { data::parse_csv(unique, small); }), Contains("distinct classes take more than max_bytes = 1000"));
}

TEST_CASE("read_csv: the sklearn data sets, when python3-sklearn is installed", "[data][csv]") {
  // Where Debian's python3-sklearn (scripts/install-deps.sh) puts them, unless
  // TAPEGRAD_SKLEARN_DATA names another directory.
  const char* env = std::getenv("TAPEGRAD_SKLEARN_DATA");
  const std::string dir = env && *env ? std::string(env) + "/" : "/usr/lib/python3/dist-packages/sklearn/datasets/data/";
  if (!std::ifstream(dir + "breast_cancer.csv")) {
    WARN("python3-sklearn is not installed: the real-file checks are skipped");
    return;
  }
  data::CsvOptions o;
  o.skip_rows = 1;  // "569,30,malignant,benign": a summary, not a header
  o.has_header = false;
  o.target = -1;
  const data::CsvData bc = data::read_csv(dir + "breast_cancer.csv", o);
  CHECK(bc.features.shape() == Shape({569, 30}));
  CHECK(bc.classes == std::vector<std::string>{"0", "1"});
  CHECK(bc.features.to_vector<double>()[0] == Approx(17.99));
  const data::CsvData digits = data::read_csv(dir + "digits.csv.gz", [] {
    data::CsvOptions d;
    d.has_header = false;
    d.target = -1;
    return d;
  }());
  CHECK(digits.features.shape() == Shape({1797, 64}));
  CHECK(digits.classes.size() == 10);
}
