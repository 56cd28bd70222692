// safetensors files (tg::io): round trips of every dtype, the exact bytes
// written, every refusal of a bad file, strict and non-strict loading, the
// Linear layout both ways, and a module left unchanged by a refused load.
// Weights trained by PyTorch: test_safetensors_torch.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"

using namespace tg;
using Catch::Contains;
namespace fs = std::filesystem;
using Bytes = std::string;

namespace {

using tg::testing::TempDir;
using tg::testing::read_bytes;
using tg::testing::write_bytes;

Bytes u64_le(std::uint64_t v) {
  Bytes b;
  for (int i = 0; i < 8; ++i) b += static_cast<char>(v >> (8 * i));
  return b;
}
// A file: the header's length, the header, the data.
Bytes safetensors_bytes(const Bytes& header, const Bytes& data) { return u64_le(header.size()) + header + data; }

// The bytes of a tensor's elements.
Bytes raw(const Tensor& t) {
  return Bytes(static_cast<const char*>(t.raw_data()), static_cast<std::size_t>(t.numel()) * element_size(t.dtype()));
}

// Linear(3->4) - ReLU - Linear(4->2): 0.weight [3,4], 0.bias [4], 2.weight [4,2], 2.bias [2].
std::shared_ptr<nn::Sequential> mlp(std::uint64_t seed = 1, bool last_bias = true) {
  manual_seed(seed);
  return std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::ReLU>(),
                                          std::make_shared<nn::Linear>(4, 2, last_bias));
}

// The message read_safetensors refuses `bytes` with.
std::string refusal_of(const Bytes& bytes, const ReadLimits& limits = ReadLimits()) {
  TempDir dir("tapegrad-safetensors");
  const std::string path = dir.file("bad.safetensors");
  write_bytes(path, bytes);
  try {
    io::read_safetensors(path, limits);
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    CHECK_THAT(message, Contains("read_safetensors: '" + path + "'"));
    return message;
  }
  FAIL("read_safetensors accepted a bad file");
  return "";
}

// A header of one F32 tensor "x" with this shape and these offsets.
Bytes one_tensor(const std::string& shape, const std::string& offsets, const std::string& dtype = "F32") {
  return R"({"x":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}}";
}

}  // namespace

TEST_CASE("safetensors: write then read returns every dtype, shape and the metadata", "[safetensors]") {
  TempDir dir("tapegrad-safetensors");
  const std::string path = dir.file("all.safetensors");
  const io::NamedTensors tensors = {
      {"f32", tensor({1.5, -2.25, 3e-8, 1e30, -0.0, 7}, {2, 3})},
      {"f64", tensor({0.1, -1e-300}, {2}, kFloat64)},
      {"i64", tensor_i64({std::numeric_limits<std::int64_t>::min(), -1, 0, std::numeric_limits<std::int64_t>::max()},
                         {2, 1, 2})},
      {"scalar", scalar_tensor(4.0)},
      {"empty", zeros({0, 5})},
      {"name with \"quotes\", \\ and \xC3\xA9", ones({1})},
  };
  const io::Metadata metadata = {{"note", "line\nbreak \"quoted\" \x01"}, {"\xE2\x82\xAC", "euro"}};
  io::write_safetensors(path, tensors, metadata);
  const io::SafetensorsFile file = io::read_safetensors(path);
  CHECK(file.metadata == metadata);
  REQUIRE(file.tensors.size() == tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    INFO(tensors[i].first);
    CHECK(file.tensors[i].first == tensors[i].first);
    CHECK(file.tensors[i].second.dtype() == tensors[i].second.dtype());
    CHECK(file.tensors[i].second.shape() == tensors[i].second.shape());
    CHECK(raw(file.tensors[i].second) == raw(tensors[i].second));
  }
  CHECK(file.at("f64").to_vector<double>() == std::vector<double>{0.1, -1e-300});
  CHECK_THROWS_WITH(file.at("nope"), Contains("no tensor 'nope'") && Contains("'f32'"));
}

TEST_CASE("safetensors: the exact bytes of a small file", "[safetensors]") {
  TempDir dir("tapegrad-safetensors");
  const std::string path = dir.file("tiny.safetensors");
  io::write_safetensors(path, {{"a", tensor({1, 2}, {2})}, {"b", tensor_i64({-2}, Shape{})}}, {{"k", "v"}});
  // 132 bytes of JSON and 4 spaces: the data starts at 8 + 136 = 144, a multiple of 8.
  const Bytes header = R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"I64","shape":[],"data_offsets":[8,16]}}    )";
  const Bytes data = Bytes("\x00\x00\x80\x3f\x00\x00\x00\x40", 8) + Bytes("\xfe\xff\xff\xff\xff\xff\xff\xff", 8);
  CHECK(read_bytes(path) == Bytes("\x88\0\0\0\0\0\0\0", 8) + header + data);
}

TEST_CASE("safetensors: F16 and BF16 are read as float32", "[safetensors]") {
  TempDir dir("tapegrad-safetensors");
  const std::string path = dir.file("half.safetensors");
  // F16: 1, -2, 65504 (largest), 2^-24 (smallest subnormal), -0, inf; BF16: 1, -0.5, 3.140625.
  const Bytes f16("\x00\x3c\x00\xc0\xff\x7b\x01\x00\x00\x80\x00\x7c", 12);
  const Bytes bf16("\x80\x3f\x00\xbf\x49\x40", 6);
  write_bytes(path, safetensors_bytes(R"({"h":{"dtype":"F16","shape":[6],"data_offsets":[0,12]},)"
                                      R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]}})",
                                      f16 + bf16));
  const io::SafetensorsFile file = io::read_safetensors(path);
  CHECK(file.at("h").dtype() == kFloat32);
  const std::vector<float> h = file.at("h").to_vector<float>();
  CHECK(h == std::vector<float>{1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24), -0.0f, INFINITY});
  CHECK(std::signbit(h[4]));
  CHECK(file.at("b").to_vector<float>() == std::vector<float>{1.0f, -0.5f, 3.140625f});
  // F16 NaN stays NaN.
  write_bytes(path, safetensors_bytes(one_tensor("[1]", "[0,2]", "F16"), Bytes("\x00\x7e", 2)));
  CHECK(std::isnan(io::read_safetensors(path).at("x").item()));
}

TEST_CASE("safetensors: every refusal of a bad file names the file and the problem", "[safetensors][errors]") {
  const Bytes eight_floats(8, '\0');
  SECTION("truncated before the header length") { CHECK_THAT(refusal_of(Bytes("\x10\0\0", 3)), Contains("is truncated: 3 bytes")); }
  SECTION("a header length larger than the file") {
    CHECK_THAT(refusal_of(u64_le(1000) + "{}"), Contains("announce a header of 1000 bytes, but only 2 follow"));
  }
  SECTION("a header larger than the limit") {
    ReadLimits limits;
    limits.max_safetensors_header_bytes = 8;
    CHECK_THAT(refusal_of(safetensors_bytes(one_tensor("[2]", "[0,8]"), eight_floats), limits),
               Contains("tg::ReadLimits::max_safetensors_header_bytes") && Contains("more than 8"));
  }
  SECTION("more data than the limit") {
    ReadLimits limits;
    limits.max_checkpoint_bytes = 7;
    CHECK_THAT(refusal_of(safetensors_bytes(one_tensor("[2]", "[0,8]"), eight_floats), limits),
               Contains("8 bytes of data, more than 7") && Contains("max_checkpoint_bytes"));
  }
  SECTION("more tensors than the limit") {
    ReadLimits limits;
    limits.max_checkpoint_tensors = 1;
    const Bytes two = R"({"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[],"data_offsets":[4,8]}})";
    CHECK_THAT(refusal_of(safetensors_bytes(two, eight_floats), limits),
               Contains("more than 1 tensors") && Contains("max_checkpoint_tensors"));
  }
  SECTION("a tapegrad checkpoint") { CHECK_THAT(refusal_of("TAPEGRAD" + Bytes(40, '\0')), Contains("tg::load")); }
  SECTION("invalid JSON") {
    const std::vector<std::pair<Bytes, std::string>> cases = {
        {R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8],}})", "expected a key (a string), found '}'"},
        {R"({"x" {"dtype":"F32"}})", "expected ':' after a key, found '{'"},
        {R"({"x":{"dtype":"F32","shape":[02],"data_offsets":[0,8]}})", "leading zero"},
        {R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} x)", "text after the end"},
        {R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8])", "the text ends where '}'"},
        {R"({"\ud800":1})", "high surrogate"},
        {R"({"\q":1})", "unknown escape '\\q'"},
        {"{\"x\xff\":1}", "not valid UTF-8 (byte 3 of the header)"},
        {"{\"x\n\":1}", "control character"},
        {R"([1,2])", "must be a JSON object"},
    };
    for (const auto& [header, fragment] : cases) {
      INFO(header);
      const std::string message = refusal_of(safetensors_bytes(header, eight_floats));
      CHECK_THAT(message, Contains(fragment));
    }
  }
  SECTION("not the safetensors schema") {
    const std::vector<std::pair<Bytes, std::string>> cases = {
        {one_tensor("[2]", "[0,8]", "F33"), "tensor 'x' has an unknown dtype 'F33'"},
        {one_tensor("[2]", "[0,8]", "I32"), "tensor 'x' has dtype I32, which tapegrad does not read"},
        {one_tensor("[2.0]", "[0,8]"), "must be an integer"},
        {one_tensor("[-2]", "[0,8]"), "must not be negative"},
        {one_tensor("[18446744073709551616]", "[0,8]"), "does not fit in 64 bits"},
        {one_tensor("[1,1,1,1,1,1,1,1,1]", "[0,4]"), "more than 8 dimensions"},
        {one_tensor("[2]", "[0,8,8]"), "more than two data_offsets"},
        {R"({"x":{"dtype":"F32","shape":[2]}})", "tensor 'x' has no \"data_offsets\""},
        {R"({"x":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "has \"dtype\" twice"},
        {R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}})", "unknown key \"extra\""},
        {R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
         "tensor 'x' appears twice"},
        {R"({"__metadata__":{"a":1}})", "metadata key 'a' is not a string"},
        {R"({"__metadata__":{"a":"1","a":"2"}})", "key 'a' twice"},
        {R"({"__metadata__":{},"__metadata__":{}})", "__metadata__ appears twice"},
    };
    for (const auto& [header, fragment] : cases) {
      INFO(header);
      CHECK_THAT(refusal_of(safetensors_bytes(header, eight_floats)), Contains(fragment));
    }
  }
  SECTION("data offsets that do not fit the data") {
    const std::vector<std::pair<Bytes, std::string>> cases = {
        {one_tensor("[3]", "[0,8]"), "tensor 'x' has data_offsets [0, 8], 8 bytes, but F32 [3] takes 12"},
        {one_tensor("[2]", "[8,0]"), "end before they begin"},
        {one_tensor("[4]", "[0,16]"), "outside the data, which holds 8 bytes"},
        {one_tensor("[4611686018427387904,4]", "[0,8]"), "has shape [4611686018427387904,4], which has more than 2^63 - 1 elements"},
        {one_tensor("[4611686018427387904]", "[0,8]"), "needs more than 2^64 bytes"},
        {one_tensor("[1]", "[0,4]"), "the last 4 bytes of the data (from byte 4) belong to no tensor"},
        {one_tensor("[1]", "[4,8]"), "bytes [0, 4) of the data belong to no tensor"},
        {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
         "tensors 'a' [0, 8] and 'b' [4, 8] overlap"},
        {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[0],"data_offsets":[2,2]},)"
         R"("c":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
         "'a' [0, 4] and 'b' [2, 2] overlap"},
    };
    for (const auto& [header, fragment] : cases) {
      INFO(header);
      CHECK_THAT(refusal_of(safetensors_bytes(header, eight_floats)), Contains(fragment));
    }
  }
  SECTION("a file that is not there, or a directory") {
    TempDir dir("tapegrad-safetensors");
    CHECK_THROWS_AS(io::read_safetensors(dir.file("absent.safetensors")), std::invalid_argument);
    CHECK_THROWS_WITH(io::read_safetensors(dir.str()), Contains("not a regular file"));
  }
}

TEST_CASE("safetensors: empty tensors, and ranges in any order, are accepted", "[safetensors]") {
  TempDir dir("tapegrad-safetensors");
  const std::string path = dir.file("order.safetensors");
  // "b" comes first in the data although it is second in the header; "e" is empty at the end.
  write_bytes(path, safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                                      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                      R"("e":{"dtype":"F64","shape":[2,0],"data_offsets":[8,8]}})",
                                      Bytes("\x00\x00\x80\x3f\x00\x00\x00\x40", 8)));
  const io::SafetensorsFile file = io::read_safetensors(path);
  REQUIRE(file.tensors.size() == 3);
  CHECK(file.tensors[0].first == "b");
  CHECK(file.at("a").item() == 2.0);
  CHECK(file.at("b").item() == 1.0);
  CHECK(file.at("e").shape() == Shape{2, 0});
  write_bytes(path, safetensors_bytes("{}", ""));
  CHECK(io::read_safetensors(path).tensors.empty());
}

TEST_CASE("safetensors: write refuses names that cannot be read back", "[safetensors][errors]") {
  TempDir dir("tapegrad-safetensors");
  const std::string path = dir.file("w.safetensors");
  CHECK_THROWS_WITH(io::write_safetensors(path, {{"a", ones({1})}, {"a", ones({1})}}), Contains("two tensors are called 'a'"));
  CHECK_THROWS_WITH(io::write_safetensors(path, {{"__metadata__", ones({1})}}), Contains("may not be called"));
  CHECK_THROWS_WITH(io::write_safetensors(path, {{"bad\xff", ones({1})}}), Contains("not valid UTF-8"));
  CHECK_THROWS_AS(io::write_safetensors(dir.file("no/such/dir/m.safetensors"), {{"a", ones({1})}}), std::runtime_error);
  CHECK(!fs::exists(path));
}

TEST_CASE("safetensors: a module's Linear weights are transposed for PyTorch layout, both ways", "[safetensors]") {
  TempDir dir("tapegrad-safetensors");
  auto model = mlp(1);
  const Tensor w0 = model->named_parameters()[0].second;  // [3,4]: in, out
  SECTION("saved in PyTorch layout (the default)") {
    io::save_safetensors(*model, dir.file("m.safetensors"));
    const io::SafetensorsFile file = io::read_safetensors(dir.file("m.safetensors"));
    CHECK(file.metadata.at("tapegrad.layout") == "pytorch");
    CHECK(file.metadata.at("format") == "pt");
    CHECK(file.at("0.weight").shape() == Shape{4, 3});
    CHECK(raw(file.at("0.weight")) == raw(transpose(w0, 0, 1)));
    CHECK(file.at("2.weight").shape() == Shape{2, 4});
    CHECK(file.at("0.bias").shape() == Shape{4});
    auto other = mlp(2);
    io::load_safetensors(*other, dir.file("m.safetensors"));
    CHECK(raw(other->named_parameters()[0].second) == raw(w0));
  }
  SECTION("saved in tapegrad layout") {
    io::save_safetensors(*model, dir.file("t.safetensors"), {io::Layout::Tapegrad, {{"epoch", "3"}}});
    const io::SafetensorsFile file = io::read_safetensors(dir.file("t.safetensors"));
    CHECK(file.metadata == io::Metadata{{"epoch", "3"}, {"tapegrad.layout", "tapegrad"}});
    CHECK(raw(file.at("0.weight")) == raw(w0));
    auto other = mlp(2);
    io::load_safetensors(*other, dir.file("t.safetensors"));
    CHECK(raw(other->named_parameters()[0].second) == raw(w0));
  }
  SECTION("a file without the key is PyTorch layout; LoadSafetensorsOptions::layout overrides the file") {
    io::NamedTensors tensors;
    for (auto [name, t] : model->named_parameters()) tensors.emplace_back(name, t.dim() == 2 ? transpose(t, 0, 1) : t);
    io::write_safetensors(dir.file("plain.safetensors"), tensors);
    auto other = mlp(2);
    io::load_safetensors(*other, dir.file("plain.safetensors"));
    CHECK(raw(other->named_parameters()[0].second) == raw(w0));
    io::LoadSafetensorsOptions as_tapegrad;
    as_tapegrad.layout = io::Layout::Tapegrad;
    CHECK_THROWS_WITH(io::load_safetensors(*other, dir.file("plain.safetensors"), as_tapegrad),
                      Contains("'0.weight' is [4,3] float32 in the file, but the model needs [3,4] float32"));
  }
  SECTION("a square Linear weight is transposed too (found by type, not shape)") {
    manual_seed(4);
    auto square = std::make_shared<nn::Linear>(3, 3);
    io::save_safetensors(*square, dir.file("sq.safetensors"));
    CHECK(raw(io::read_safetensors(dir.file("sq.safetensors")).at("weight")) == raw(transpose(square->weight, 0, 1)));
  }
  SECTION("the layout key is the options' to set") {
    CHECK_THROWS_WITH(io::save_safetensors(*model, dir.file("x.safetensors"), {io::Layout::PyTorch, {{"tapegrad.layout", "x"}}}),
                      Contains("SaveSafetensorsOptions::layout"));
    io::write_safetensors(dir.file("odd.safetensors"), {}, {{"tapegrad.layout", "jax"}});
    CHECK_THROWS_WITH(io::load_safetensors(*model, dir.file("odd.safetensors")), Contains("is 'jax'"));
  }
  SECTION("conv weights keep their layout, which PyTorch shares") {
    manual_seed(5);
    nn::Conv2d conv(2, 3, 3);
    io::save_safetensors(conv, dir.file("c.safetensors"));
    const Tensor w = conv.named_parameters()[0].second;
    CHECK(raw(io::read_safetensors(dir.file("c.safetensors")).at("weight")) == raw(w));
  }
}

TEST_CASE("safetensors: strict loading refuses and lists every difference; non-strict loads what fits", "[safetensors]") {
  TempDir dir("tapegrad-safetensors");
  const std::string path = dir.file("m.safetensors");
  io::save_safetensors(*mlp(1), path);
  // The model: Linear(3->5) (wider than the file's), ReLU, Linear(4->2) without
  // bias, and one more Linear(2->5) (never run: only the shapes matter).
  manual_seed(9);
  auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(3, 5), std::make_shared<nn::ReLU>(),
                                                std::make_shared<nn::Linear>(4, 2, false), std::make_shared<nn::Linear>(2, 5));
  std::vector<Bytes> before;
  std::vector<std::uint64_t> versions;
  for (const Tensor& t : model->parameters()) before.push_back(raw(t)), versions.push_back(t.version());

  try {
    io::load_safetensors(*model, path);
    FAIL("a strict load of another model's file succeeded");
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    CHECK_THAT(message, Contains("load_safetensors: '" + path + "' does not fit the model (Sequential)"));
    CHECK_THAT(message, Contains("the file lacks '3.weight', '3.bias', which the model needs"));
    CHECK_THAT(message, Contains("the model does not have '2.bias'"));
    CHECK_THAT(message, Contains("'0.weight' is [4,3] float32 in the file, but the model needs [5,3] float32 "
                                 "(the Linear weight [3,5] transposed)"));
    CHECK_THAT(message, Contains("'0.bias' is [4] float32 in the file, but the model needs [5] float32"));
    CHECK_THAT(message, Contains("Nothing was loaded"));
  }
  // A refused load changes nothing: values and version counters.
  for (std::size_t i = 0; i < before.size(); ++i) {
    CHECK(raw(model->parameters()[i]) == before[i]);
    CHECK(model->parameters()[i].version() == versions[i]);
  }

  io::LoadSafetensorsOptions lenient;
  lenient.strict = false;
  const io::LoadReport report = io::load_safetensors(*model, path, lenient);
  CHECK(report.loaded == std::vector<std::string>{"2.weight"});
  CHECK(report.missing == std::vector<std::string>{"3.weight", "3.bias"});
  CHECK(report.unexpected == std::vector<std::string>{"2.bias"});
  REQUIRE(report.mismatched.size() == 2);
  CHECK(report.mismatched[0].name == "0.weight");
  CHECK(report.mismatched[0].in_file == "[4,3] float32");
  CHECK(!report.complete());
  // Only 2.weight changed, and its version rose; the others are as they were.
  const std::vector<Tensor> params = model->parameters();
  CHECK(raw(params[2]) == raw(mlp(1)->named_parameters()[2].second));
  CHECK(params[2].version() > versions[2]);
  for (std::size_t i : {0u, 1u, 3u, 4u}) {
    CHECK(raw(params[i]) == before[i]);
    CHECK(params[i].version() == versions[i]);
  }
}

TEST_CASE("safetensors: a complete load reports every tensor, bumps versions and converts float dtypes",
          "[safetensors]") {
  TempDir dir("tapegrad-safetensors");
  const std::string path = dir.file("m.safetensors");
  auto source = mlp(1);
  io::save_safetensors(*source, path);
  auto target = mlp(2);
  target->to(kFloat64);
  const Tensor w = target->parameters()[0];
  const std::uint64_t version = w.version();
  const io::LoadReport report = io::load_safetensors(*target, path);
  CHECK(report.complete());
  CHECK(report.loaded == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  CHECK(w.dtype() == kFloat64);
  CHECK(w.version() > version);
  CHECK(w.to(kFloat32).to_vector<float>() == source->parameters()[0].to_vector<float>());
  // A saved tensor that a pending backward reads notices the load.
  Tensor loss = sum((*target)(ones({1, 3}, kFloat64)));
  io::load_safetensors(*target, path);
  CHECK_THROWS_WITH(loss.backward(), Contains("changed in place"));
}

TEST_CASE("safetensors: a file refused for its content leaves the module unchanged", "[safetensors]") {
  TempDir dir("tapegrad-safetensors");
  const std::string path = dir.file("m.safetensors");
  io::save_safetensors(*mlp(1), path);
  Bytes bytes = read_bytes(path);
  write_bytes(path, bytes.substr(0, bytes.size() - 4));  // the last tensor's data is cut
  auto model = mlp(2);
  const std::vector<float> before = model->parameters()[0].to_vector<float>();
  const std::uint64_t version = model->parameters()[0].version();
  CHECK_THROWS_WITH(io::load_safetensors(*model, path), Contains("load_safetensors: '" + path + "'") && Contains("outside the data"));
  CHECK(model->parameters()[0].to_vector<float>() == before);
  CHECK(model->parameters()[0].version() == version);
}
