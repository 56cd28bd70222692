// The bad-input table: every way of holding tapegrad wrong that we know of, the
// exception it must raise and the fragments its message must contain (the op or
// module, the shapes, the offending value). One DYNAMIC_SECTION per row, so a
// failure names the row. A crash in any row kills the test program: that is a
// failure too.
//
// README "Errors you may see" quotes messages from this table and from the
// error inputs each op and nn::functional composite declares next to its
// definition (ops/*.cpp, nn/*.cpp); the last test case checks every quote
// against the library's real output, and
//   tapegrad_tests "[.print_bad_inputs]"
// prints every row's message for updating that section.
#include <catch2/catch.hpp>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"

using namespace tg;
using Catch::Contains;
namespace fs = std::filesystem;
namespace F = tg::nn::functional;

namespace {

// ---- what a row expects ------------------------------------------------------------

struct ExpectedType {
  const char* name;
  bool (*matches)(const std::exception&);
};
template <class E> ExpectedType expect(const char* name) {
  return {name, [](const std::exception& e) { return dynamic_cast<const E*>(&e) != nullptr; }};
}
const ExpectedType kInvalidArgument = expect<std::invalid_argument>("std::invalid_argument");
const ExpectedType kRuntimeError = expect<std::runtime_error>("std::runtime_error");
const ExpectedType kAnomalyError = expect<autograd::AnomalyError>("tg::autograd::AnomalyError");
const ExpectedType kNonFiniteError = expect<nn::NonFiniteError>("tg::nn::NonFiniteError");

struct BadInput {
  std::string name;
  std::function<void()> call;
  ExpectedType expected;
  std::vector<std::string> fragments;
};

// ---- files the checkpoint and IDX rows read -----------------------------------------

using Bytes = std::string;

using tg::testing::read_bytes;
using tg::testing::write_bytes;

// Linear(3->4) - ReLU - Linear(4->2): parameters 0.weight [3,4], 0.bias [4], 2.weight [4,2], 2.bias [2].
std::shared_ptr<nn::Sequential> mlp(std::int64_t hidden = 4, bool last_bias = true) {
  return std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(3, hidden), std::make_shared<nn::ReLU>(),
                                          std::make_shared<nn::Linear>(hidden, 2, last_bias));
}

// x^3 through pow, which ONNX export does not map.
struct Cube : nn::Module {
  Tensor forward(const Tensor& x) override { return pow(x, 3.0); }
};

// A big-endian IDX header (magic 0x00000803 for 3-D unsigned bytes) and its data.
Bytes idx_file(const std::vector<std::uint32_t>& dims, std::size_t data_bytes, unsigned char first_byte = 0) {
  Bytes b = {static_cast<char>(first_byte), 0, 0x08, static_cast<char>(dims.size())};
  for (std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<char>((d >> shift) & 0xFF));
  return b + Bytes(data_bytes, '\x7f');
}

// A directory of broken files, made once for the whole test program.
struct BrokenFiles {
  fs::path dir;
  BrokenFiles() {
    dir = fs::temp_directory_path() / ("tapegrad_bad_inputs_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    manual_seed(3);
    auto model = mlp();
    save(*model, file("mlp.tgc"));
    optim::SGD sgd(model->parameters(), optim::SGDOptions(0.1));
    save(sgd, file("sgd.tgc"));

    const Bytes good = read_bytes(file("mlp.tgc"));
    write_bytes(file("truncated.tgc"), good.substr(0, good.size() - 10));
    Bytes corrupt = good;
    corrupt[good.size() - 3] ^= 0x40;  // one bit of the last tensor's data
    write_bytes(file("corrupt.tgc"), corrupt);
    Bytes newer = good;
    newer[8] = 2;  // u32 format version at offset 8
    write_bytes(file("newer.tgc"), newer);
    write_bytes(file("notes.tgc"), "NOT A CHECKPOINT, just some text that is long enough for a header");

    write_bytes(file("train-images-truncated"), idx_file({10, 28, 28}, 1000));
    write_bytes(file("train-images-badmagic"), idx_file({1, 2, 2}, 4, 0x1f ^ 0x01));
    write_bytes(file("train-images-short-header"), Bytes("\0\0\x08", 3));
    fs::create_directories(dir / "checkpoints");
    fs::create_directories(dir / "runs");

    // gzip: a header promising more than max_inflated_bytes (1 GiB) by default,
    // and a good file followed by garbage.
    auto gzip = [](const Bytes& raw) {
      const std::vector<std::uint8_t> z = tg::testing::gzip({raw.begin(), raw.end()});
      return Bytes(z.begin(), z.end());
    };
    write_bytes(file("train-images-huge.gz"), gzip(idx_file({1024, 1024, 1025}, 0)));
    write_bytes(file("train-labels-junk.gz"), gzip(idx_file({4}, 4)) + "junk");
    // A checkpoint announcing 4 million tensors (a valid header and checksum).
    Bytes payload = std::string("\x06\0module", 8) + std::string("\x00\x09\x3d\x00", 4);
    const auto crc = static_cast<std::uint32_t>(
        crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size())));
    Bytes many = "TAPEGRAD" + std::string("\x01\0\0\0\0\0\0\0", 8);
    for (int i = 0; i < 8; ++i) many.push_back(static_cast<char>(std::uint64_t{payload.size()} >> (8 * i)));
    for (int i = 0; i < 4; ++i) many.push_back(static_cast<char>(crc >> (8 * i)));
    write_bytes(file("many.tgc"), many + std::string(4, '\0') + payload);

    // safetensors: a model's file, cut; text; a header with an unknown dtype and one with overlapping ranges.
    io::save_safetensors(*model, file("mlp.safetensors"));
    const Bytes tensors = read_bytes(file("mlp.safetensors"));
    write_bytes(file("cut.safetensors"), tensors.substr(0, tensors.size() - 10));
    write_bytes(file("notes.safetensors"), "NOT A SAFETENSORS FILE, just some text");
    auto safetensors = [](const Bytes& header, std::size_t data_bytes) {
      Bytes length;
      for (int i = 0; i < 8; ++i) length.push_back(static_cast<char>(std::uint64_t{header.size()} >> (8 * i)));
      return length + header + Bytes(data_bytes, '\0');
    };
    write_bytes(file("int4.safetensors"), safetensors(R"({"w":{"dtype":"I4","shape":[2],"data_offsets":[0,1]}})", 1));
    write_bytes(file("overlap.safetensors"),
                safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                            12));

    write_bytes(file("flowers-missing.csv"), "sepal,petal,species\n5.1,1.4,setosa\n4.9,,setosa\n");
    write_bytes(file("flowers-units.csv"), "sepal,petal,species\n5.1,1.4,setosa\n4.9,1.4 cm,setosa\n");
    write_bytes(file("flowers-ragged.csv"), "sepal,petal,species\n5.1,1.4,setosa\n4.9,1.4\n");
    write_bytes(file("flowers-quote.csv"), "sepal,petal,species\n5.1,1.4,\"setosa\n4.9,1.4,setosa\n");
    write_bytes(file("empty.csv"), "");

    // Pictures: text under a picture's name, a PNG header declaring 2e8 pixels,
    // a folder of pictures without class folders, and one with a class without pictures.
    write_bytes(file("cat.png"), "a photo of a cat, in words");
    const std::vector<std::uint8_t> huge = tg::testing::png_file(20000, 10000);
    write_bytes(file("huge.png"), Bytes(huge.begin(), huge.end()));
    fs::create_directories(dir / "flat-photos");
    write_bytes(file("flat-photos/cat.png"), "not read: the folder is refused first");
    fs::create_directories(dir / "photos" / "cat");
    fs::create_directories(dir / "photos" / "dog");
    write_bytes(file("photos/cat/1.png"), "not read: the folder is refused first");
    write_bytes(file("photos/dog/notes.txt"), "the dog pictures are still on the camera");
  }
  BrokenFiles(const BrokenFiles&) = delete;  // a copy's destructor would remove the files
  BrokenFiles& operator=(const BrokenFiles&) = delete;
  ~BrokenFiles() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
};
const BrokenFiles& files() {
  static BrokenFiles f;
  return f;
}

// The path of one of the broken files.
std::string broken(const std::string& name) { return files().file(name); }

// Messages with the temporary directory removed, as the README quotes them.
std::string normalised(std::string message) {
  const std::string prefix = files().dir.string() + "/";
  for (std::size_t at; (at = message.find(prefix)) != std::string::npos;) message.erase(at, prefix.size());
  return message;
}

// A scalar loss through a recorded graph, for the backward rows.
Tensor some_loss() {
  Tensor w = ones({2, 2}).requires_grad_();
  return sum(w * w);
}

// ---- the table ----------------------------------------------------------------------------

std::vector<BadInput> bad_inputs() {
  files();  // made before any row runs
  const Tensor empty_rows = zeros({0, 3});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const ExpectedType IA = kInvalidArgument;
  const nn::LossFunction ce = [](const Tensor& out, const Tensor& t) { return F::cross_entropy(out, t); };
  data::CsvOptions by_species;  // the CSV rows' files: numbers, and the species as the target
  by_species.target = "species";

  return {
      // ---- factories and tensor state
      {"tensor: values do not fill the shape", [] { tensor({1, 2, 3}, {2, 2}); }, IA, {"tensor", "3 values", "[2,2]"}},
      {"zeros: more elements than 64 bits count", [] { zeros({std::int64_t{1} << 40, std::int64_t{1} << 40}); }, IA,
       {"Shape", "[1099511627776,1099511627776]", "2^63 - 1 elements"}},
      {"zeros: a negative extent", [] { zeros({2, -1}); }, IA, {"Shape", "negative extent -1"}},
      {"zeros: more than 8 dimensions", [] { zeros({1, 1, 1, 1, 1, 1, 1, 1, 1}); }, IA, {"Shape", "8 dimensions"}},
      {"copy_: shapes differ", [] { ones({2}).copy_(ones({3})); }, IA, {"copy_", "[3]", "[2]"}},
      {"set_grad: gradient of the wrong shape", [] { ones({2}).requires_grad_().set_grad(ones({3})); }, IA,
       {"set_grad", "[3]", "[2]"}},
      {"randint: empty range", [] { randint(5, 2, {3}); }, IA, {"randint", "5", "2"}},
      {"randperm: negative n", [] { randperm(-3); }, IA, {"randperm", "-3"}},
      {"int64 fill with NaN", [=] { full({2}, nan, kInt64); }, IA, {"fill_", "nan", "int64"}},
      {"narrow: start + length past the end (overflowing)",
       [] { narrow(ones({4, 2}), 2, std::numeric_limits<std::int64_t>::max() - 1); }, IA, {"narrow", "[4,2]"}},

      // ---- empty tensors

      // ---- int64 where floats are needed
      {"requires_grad_ on int64", [] { tensor_i64({1, 2}, {2}).requires_grad_(); }, IA,
       {"requires_grad_", "int64", "[2]"}},
      {"requires_grad_ on a non-leaf", [] { (ones({2}).requires_grad_() * 2.0).requires_grad_(); }, IA,
       {"requires_grad_", "leaf", "mul"}},
      {"data<double>() of a float32 tensor", [] { ones({2}).data<double>(); }, IA, {"float32", "float64"}},
      {"item() of a 2-element tensor", [] { ones({2}).item(); }, IA, {"item", "2 elements"}},

      // ---- backward
      {"backward on a non-scalar without a gradient", [] { (ones({2, 2}).requires_grad_() * 2.0).backward(); }, IA,
       {"backward", "one-element", "[2,2]"}},
      {"backward with a gradient of the wrong shape",
       [] { (ones({2, 2}).requires_grad_() * 2.0).backward(ones({3})); }, IA, {"backward", "[3]", "[2,2]"}},
      {"backward on a tensor that does not require grad", [] { sum(ones({2})).backward(); }, IA,
       {"backward", "does not require grad"}},
      {"backward twice without retain_graph",
       [] {
         Tensor loss = some_loss();
         loss.backward();
         loss.backward();
       },
       kRuntimeError, {"backward", "second time", "retain_graph"}},
      {"in-place change of a tensor that requires grad", [] { ones({2}).requires_grad_().fill_(0); }, IA,
       {"fill_", "NoGradGuard"}},
      {"a tensor saved for backward changed before it",
       [] {
         Tensor w = tensor({1.0, 2.0, 3.0, 4.0}, {2, 2}).requires_grad_();
         Tensor loss = sum(matmul(ones({1, 2}).requires_grad_(), w));
         NoGradGuard no_grad;
         w.fill_(0);
         loss.backward();
       },
       kRuntimeError, {"backward of 'matmul'", "[2,2] float32", "changed in place", "version 1"}},
      {"a model's dtype changed between forward and backward",
       [] {
         nn::Linear fc(2, 2);
         Tensor loss = sum(fc(ones({1, 2})));
         fc.to(kFloat64);
         loss.backward();
       },
       kRuntimeError, {"backward", "float32", "float64", "Module::to"}},

      // ---- NaN where an op refuses it
      {"SGD: NaN learning rate",
       [=] { optim::SGD(std::vector<Tensor>{ones({2}).requires_grad_()}, optim::SGDOptions(nan)); }, IA,
       {"SGD", "learning rate", "nan"}},
      {"arange: NaN step", [=] { arange(0.0, 1.0, nan); }, IA, {"arange", "step", "nan"}},
      {"Adam: NaN learning rate",
       [=] { optim::Adam(std::vector<Tensor>{ones({2}).requires_grad_()}, optim::AdamOptions(nan)); }, IA,
       {"Adam", "learning rate", "nan"}},
      {"SGD: NaN momentum",
       [=] { optim::SGD(std::vector<Tensor>{ones({2}).requires_grad_()}, optim::SGDOptions(0.1).momentum(nan)); }, IA,
       {"SGD", "momentum", "nan"}},
      {"anomaly mode: an op produces NaN",
       [] {
         autograd::DetectAnomalyGuard anomaly;
         Tensor x = tensor({1, -1}).requires_grad_();
         sqrt(x);
       },
       kAnomalyError, {"anomaly detected", "sqrt", "NaN", "[2]"}},

      // ---- optimizers
      {"SGD with no parameters", [] { optim::SGD(std::vector<Tensor>{}, optim::SGDOptions(0.1)); }, IA,
       {"SGD", "no parameters"}},
      {"Adam with no parameters", [] { optim::Adam(std::vector<Tensor>{}, optim::AdamOptions(0.1)); }, IA,
       {"Adam", "no parameters"}},
      {"SGD given an int64 parameter", [] { optim::SGD({tensor_i64({1}, {1})}, optim::SGDOptions(0.1)); }, IA,
       {"SGD", "parameter 0", "int64"}},
      {"Adam with beta1 = 1", [] { optim::Adam({ones({1}).requires_grad_()}, optim::AdamOptions(0.1).betas(1.0, 0.9)); },
       IA, {"Adam", "betas"}},
      {"SGD: the same parameter twice",
       [] {
         Tensor w = ones({2}).requires_grad_();
         optim::SGD({w, w}, optim::SGDOptions(0.1));
       },
       IA, {"SGD", "parameter 1", "more than once"}},
      {"StepLR: step_size 0",
       [] {
         optim::SGD sgd({ones({1}).requires_grad_()}, optim::SGDOptions(0.1));
         optim::StepLR(sgd, 0);
       },
       IA, {"StepLR", "step_size", "0"}},
      {"SGD: an infinite learning rate",
       [] { optim::SGD(std::vector<Tensor>{ones({2}).requires_grad_()}, optim::SGDOptions(INFINITY)); }, IA,
       {"SGD", "learning rate", "inf"}},
      {"clip_grad_norm: negative max_norm", [] { optim::clip_grad_norm({ones({1}).requires_grad_()}, -1.0); }, IA,
       {"clip_grad_norm", "max_norm", "-1"}},
      {"a parameter group with an unknown option",
       [] {
         optim::SGD({optim::ParamGroup({ones({1}).requires_grad_()}),
                     optim::ParamGroup({ones({1}).requires_grad_()}, {{"betas", 0.9}})},
                    optim::SGDOptions(0.1));
       },
       IA, {"SGD parameter group 1", "unknown option 'betas'", "momentum"}},
      {"LBFGS stepped without a closure",
       [] {
         optim::LBFGS lbfgs({ones({1}).requires_grad_()});
         lbfgs.step();
       },
       IA, {"LBFGS", "closure"}},
      {"OneCycleLR stepped past total_steps",
       [] {
         optim::SGD sgd({ones({1}).requires_grad_()}, optim::SGDOptions(0.1));
         optim::OneCycleLR cycle(sgd, 1.0, 4, optim::OneCycleLROptions().pct_start(0.5));
         for (int i = 0; i < 5; ++i) cycle.step();
       },
       IA, {"OneCycleLR", "stepped 5 times", "total_steps (4)"}},

      // ---- checkpoints
      {"load: the model lacks a tensor the file has",
       [=] { load(*mlp(4, /*last_bias=*/false), broken("mlp.tgc")); }, IA,
       {"load", "mlp.tgc", "'2.bias'", "does not have"}},
      {"load: the file lacks a tensor the model needs",
       [=] {
         auto deeper = mlp();
         deeper->add(std::make_shared<nn::ReLU>()).add(std::make_shared<nn::Linear>(2, 1));
         load(*deeper, broken("mlp.tgc"));
       },
       IA, {"load", "mlp.tgc", "'4.weight'", "needs"}},
      {"load: a tensor's shape differs", [=] { load(*mlp(5), broken("mlp.tgc")); }, IA,
       {"load", "'0.weight'", "[3,4]", "[3,5]"}},
      {"load: a tensor's dtype differs", [=] { load(mlp()->to(kFloat64), broken("mlp.tgc")); }, IA,
       {"load", "'0.weight'", "float32", "float64"}},
      {"load: truncated file", [=] { load(*mlp(), broken("truncated.tgc")); }, IA, {"load", "truncated.tgc", "is truncated", "announces"}},
      {"load: corrupt file", [=] { load(*mlp(), broken("corrupt.tgc")); }, IA, {"load", "corrupt.tgc", "checksum"}},
      {"load: file from a newer format version", [=] { load(*mlp(), broken("newer.tgc")); }, IA,
       {"load", "newer.tgc", "version 2", "newer"}},
      {"load: not a checkpoint (wrong magic)", [=] { load(*mlp(), broken("notes.tgc")); }, IA,
       {"load", "notes.tgc", "magic"}},
      {"load: missing file", [=] { load(*mlp(), broken("absent.tgc")); }, IA, {"load", "absent.tgc", "cannot open"}},
      {"load: a directory (or a pipe, a device)", [=] { load(*mlp(), broken("checkpoints")); }, IA,
       {"load", "checkpoints", "not a regular file"}},
      {"load: optimizer state into a model", [=] { load(*mlp(), broken("sgd.tgc")); }, IA,
       {"load", "sgd.tgc", "SGD optimizer state"}},
      {"load: a model's file into an optimizer",
       [=] {
         auto model = mlp();
         optim::Adam adam(model->parameters(), optim::AdamOptions(0.1));
         load(adam, broken("mlp.tgc"));
       },
       IA, {"load", "mlp.tgc", "module", "Adam"}},
      {"load: more tensors than ReadLimits allows", [=] { load(*mlp(), broken("many.tgc")); }, IA,
       {"load", "many.tgc", "4000000 tensors", "tg::ReadLimits::max_checkpoint_tensors", "tg::set_read_limits"}},
      {"save: into a directory that does not exist", [=] { save(*mlp(), broken("no/such/dir/m.tgc")); }, kRuntimeError,
       {"save", "no/such/dir/m.tgc", "No such file"}},

      // ---- ONNX export
      {"onnx::export_model: an op without an ONNX mapping",
       [=] {
         nn::Sequential model(std::make_shared<nn::Linear>(3, 2), std::make_shared<Cube>());
         onnx::export_model(model, ones({4, 3}), broken("cube.onnx"));
       },
       IA, {"Sequential[1] Cube", "onnx::export_model", "op 'pow'", "[4,2] float32", "no ONNX mapping"}},
      // ---- safetensors
      {"load_safetensors: the file of another model",
       [=] { io::load_safetensors(*mlp(5, /*last_bias=*/false), broken("mlp.safetensors")); }, IA,
       {"load_safetensors", "mlp.safetensors", "does not fit the model (Sequential)", "'0.weight' is [4,3] float32",
        "[5,3] float32 (the Linear weight [3,5] transposed)", "'2.bias'", "Nothing was loaded"}},
      {"read_safetensors: truncated file", [=] { io::read_safetensors(broken("cut.safetensors")); }, IA,
       {"read_safetensors", "cut.safetensors", "'2.weight'", "outside the data", "truncated"}},
      {"read_safetensors: not a safetensors file", [=] { io::read_safetensors(broken("notes.safetensors")); }, IA,
       {"read_safetensors", "notes.safetensors", "not a safetensors file", "announce a header of"}},
      {"read_safetensors: a checkpoint", [=] { io::read_safetensors(broken("mlp.tgc")); }, IA,
       {"read_safetensors", "mlp.tgc", "tapegrad checkpoint", "tg::load"}},
      {"read_safetensors: an unknown dtype", [=] { io::read_safetensors(broken("int4.safetensors")); }, IA,
       {"read_safetensors", "int4.safetensors", "tensor 'w'", "unknown dtype 'I4'"}},
      {"read_safetensors: overlapping tensors", [=] { io::read_safetensors(broken("overlap.safetensors")); }, IA,
       {"read_safetensors", "overlap.safetensors", "'a' [0, 8] and 'b' [4, 12] overlap"}},
      {"check_writable: the output is a directory", [=] { train::check_writable(broken("runs"), {true, "save"}); },
       kRuntimeError, {"save", "runs", "Is a directory"}},
      {"MetricsLogger::log: a key twice in one row",
       [=] {
         train::MetricsLogger logger("", "");  // writes no file
         logger.log({{"loss", 0.25}, {"accuracy", 0.5}, {"loss", 0.5}});
       },
       IA, {"MetricsLogger::log", "\"loss\"", "appears twice"}},

      // ---- IDX files and data loading
      {"read_idx: truncated data", [=] { data::read_idx(broken("train-images-truncated")); }, IA,
       {"train-images-truncated", "truncated", "7840", "1000"}},
      {"read_idx: wrong magic", [=] { data::read_idx(broken("train-images-badmagic")); }, IA,
       {"train-images-badmagic", "magic"}},
      {"read_idx: header cut short", [=] { data::read_idx(broken("train-images-short-header")); }, IA,
       {"train-images-short-header", "header"}},
      {"read_idx: a gzip file promising more than ReadLimits allows",
       [=] { data::read_idx(broken("train-images-huge.gz")); }, IA,
       {"train-images-huge.gz", "1073741824", "tg::ReadLimits::max_inflated_bytes", "tg::set_read_limits"}},
      {"read_idx: garbage after the gzip data", [=] { data::read_idx(broken("train-labels-junk.gz")); }, IA,
       {"train-labels-junk.gz", "4 bytes", "not another gzip member"}},
      {"read_idx: missing file", [=] { data::read_idx(broken("t10k-images-idx3-ubyte")); }, IA,
       {"t10k-images-idx3-ubyte", "no such file"}},
      {"load_mnist: missing directory", [=] { data::load_mnist(broken("mnist"), data::Split::Train); }, IA,
       {"MNIST", "mnist", "train-images-idx3-ubyte"}},
      // ---- pictures
      {"read_image: not a picture", [=] { data::read_image(broken("cat.png")); }, IA,
       {"read_image", "cat.png", "not an image stb_image reads"}},
      {"read_image: more pixels than ReadLimits allows", [=] { data::read_image(broken("huge.png")); }, IA,
       {"read_image", "huge.png", "20000x10000", "tg::ReadLimits::max_image_pixels", "tg::set_read_limits"}},
      {"ImageFolder: no class folders", [=] { data::ImageFolder(broken("flat-photos")); }, IA,
       {"ImageFolder", "flat-photos", "no class folders", "belongs to no class"}},
      {"ImageFolder: a class folder without pictures", [=] { data::ImageFolder(broken("photos")); }, IA,
       {"ImageFolder", "photos", "class dog", ".png", "allow_empty"}},
      // ---- CSV files
      {"read_csv: a missing value", [=] { data::read_csv(broken("flowers-missing.csv"), by_species); }, IA,
       {"read_csv", "flowers-missing.csv", "line 3 (data row 2)", "column 'petal' (index 1)", "missing value"}},
      {"read_csv: text in a numeric column",
       [=] { data::read_csv(broken("flowers-units.csv"), by_species); },
       IA, {"read_csv", "flowers-units.csv", "line 3 (data row 2)", "column 'petal' (index 1)", "'1.4 cm' is not a number"}},
      {"read_csv: a row with too few fields", [=] { data::read_csv(broken("flowers-ragged.csv"), by_species); }, IA,
       {"read_csv", "flowers-ragged.csv", "line 3 (data row 2) has 2 fields", "header (line 1) has 3"}},
      {"read_csv: an unterminated quote", [=] { data::read_csv(broken("flowers-quote.csv")); }, IA,
       {"read_csv", "flowers-quote.csv", "line 2", "never closed"}},
      {"read_csv: an empty file", [=] { data::read_csv(broken("empty.csv")); }, IA, {"read_csv", "empty.csv", "is empty"}},
      {"read_csv: no such target column",
       [=] {
         data::CsvOptions o;
         o.target = "class";
         data::read_csv(broken("flowers-missing.csv"), o);
       },
       IA, {"read_csv", "no column named 'class'", "'sepal', 'petal', 'species'"}},
      {"read_csv: a target index out of range",
       [=] {
         data::CsvOptions o;
         o.target = 3;
         data::read_csv(broken("flowers-missing.csv"), o);
       },
       IA, {"read_csv", "target column index 3", "3 columns"}},
      {"read_csv: a file over max_bytes",
       [=] {
         data::CsvOptions o;
         o.max_bytes = 16;
         data::read_csv(broken("flowers-missing.csv"), o);
       },
       IA, {"read_csv", "max_bytes = 16", "CsvOptions::max_bytes"}},
      {"--data-dir without a value",
       [] {
         const char* argv[] = {"lenet5", "--data-dir"};
         data::data_dir_flag(2, argv);
       },
       IA, {"--data-dir", "needs a directory"}},
      {"relabel: a label that is not one of the classes", [] { data::relabel(tensor_i64({0, 5}, {2}), {0, 1}); }, IA,
       {"relabel", "label 5", "index 1", "{0, 1}"}},
      {"take: negative count",
       [] { data::take(data::TensorDataset{ones({2, 1}), tensor_i64({0, 1}, {2})}, -1); }, IA, {"take", "-1"}},
      {"labels_to_signs: float labels", [] { data::labels_to_signs(ones({2})); }, IA,
       {"labels_to_signs", "int64", "[2] float32"}},
      {"BatchLoader: batch size 0",
       [] {
         data::BatchOptions options;
         options.batch_size = 0;
         data::BatchLoader(ones({4, 2}), tensor_i64({0, 1, 0, 1}, {4}), options);
       },
       IA, {"BatchLoader", "batch_size", "0"}},
      {"BatchLoader: inputs and targets of different lengths",
       [] { data::BatchLoader(ones({4, 2}), tensor_i64({0, 1, 0}, {3})); }, IA, {"BatchLoader", "[4,2]", "[3]"}},

      // ---- training with nn::fit
      {"fit: an empty training set",
       [=] {
         auto model = mlp();
         optim::SGD sgd(model->parameters(), optim::SGDOptions(0.1));
         nn::fit(*model, ce, sgd, zeros({0, 3}), tensor_i64(std::vector<std::int64_t>{}, {0}));
       },
       IA, {"fit", "training inputs [0,3]", "no samples"}},
      {"evaluate: an empty data set",
       [=] { nn::evaluate(*mlp(), ce, nullptr, zeros({0, 3}), tensor_i64(std::vector<std::int64_t>{}, {0})); },
       IA, {"evaluate", "[0,3]", "no samples"}},
      {"fit: a NaN in the data",
       [=] {
         nn::Linear model(3, 2);
         optim::SGD sgd(model.parameters(), optim::SGDOptions(0.1));
         nn::FitOptions options;
         options.on_epoch = [](const nn::EpochReport&) {};
         nn::fit(model, ce, sgd, tensor({1, nan, 0}, {1, 3}), tensor_i64({1}, {1}), options);
       },
       kNonFiniteError, {"fit", "nan", "epoch 1, batch 1 (step 1)", "previous parameters", "DetectAnomalyGuard"}},

      // ---- modules called with the wrong input
      {"Linear: wrong number of features", [] { nn::Linear(4, 2)(ones({5, 3})); }, IA,
       {"Linear(4->2)", "3 features", "expected 4", "[5,3]"}},
      {"Conv2d: wrong number of channels", [] { nn::Conv2d(3, 6, 3)(ones({1, 1, 8, 8})); }, IA,
       {"Conv2d(3->6, 3x3)", "1 channels", "expected 3", "[1,1,8,8]"}},
      {"Conv2d: a 3-D input (missing batch dimension)", [] { nn::Conv2d(1, 6, 3)(ones({1, 28, 28})); }, IA,
       {"Conv2d(1->6, 3x3)", "[N, C, H, W]", "[1,28,28]"}},
      {"Conv1d: wrong number of channels", [] { nn::Conv1d(3, 6, 5)(ones({1, 2, 20})); }, IA,
       {"Conv1d(3->6, 5)", "2 channels", "expected 3"}},
      {"Sequential: a Linear deep inside gets the wrong width",
       [] {
         nn::Sequential net(std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(784, 32),
                            std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(16, 10));
         net(ones({2, 1, 28, 28}));
       },
       IA, {"Sequential[3] Linear(16->10)", "32 features", "expected 16"}},
      {"Sequential: an image too small for the pooling",
       [] {
         nn::Sequential net(std::make_shared<nn::Conv2d>(1, 4, 5), std::make_shared<nn::MaxPool2d>(2),
                            std::make_shared<nn::Conv2d>(4, 8, 5), std::make_shared<nn::MaxPool2d>(2));
         net(ones({1, 1, 14, 14}));
       },
       IA, {"Sequential[3] MaxPool2d", "max_pool2d", "[1,8,1,1]"}},
      {"Sequential inside Sequential: the path names both",
       [] {
         auto features = std::make_shared<nn::Sequential>(std::make_shared<nn::Conv2d>(1, 4, 3),
                                                          std::make_shared<nn::ReLU>());
         nn::Sequential net(features, std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(10, 2));
         net(ones({1, 3, 8, 8}));
       },
       IA, {"Sequential[0][0] Conv2d(1->4, 3x3)", "3 channels", "expected 1"}},
      {"Sequential: an Embedding index out of range",
       [] {
         nn::Sequential net(std::make_shared<nn::Embedding>(10, 4), std::make_shared<nn::Flatten>());
         net(tensor_i64({1, 2, 3, 4, 12, 5}, {2, 3}));
       },
       IA, {"Sequential[0] Embedding(10x4)", "index 12 at position 4", "10 embeddings", "[2,3]", "[10,4]"}},
      {"LSTM: wrong number of input features",
       [] {
         nn::Sequential net(std::make_shared<nn::Embedding>(10, 8), std::make_shared<nn::LSTM>(16, 32));
         net(tensor_i64({1, 2, 3, 4, 5, 6}, {3, 2}));
       },
       IA, {"Sequential[1] LSTM(16->32)", "input has 8 features", "input_size=16", "[3,2,8]"}},
      {"GRU: lengths longer than the sequence",
       [] { nn::GRU(4, 8)(ones({5, 2, 4}), Tensor(), tensor_i64({5, 7}, {2})); }, IA,
       {"GRU(4->8)", "lengths[1] = 7", "[1, 5]", "[5,2,4]"}},
      {"BatchNorm1d: training on one value per channel",
       [] {
         nn::Sequential net(std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::BatchNorm1d>(4));
         net(ones({1, 3}));
       },
       IA, {"Sequential[1] BatchNorm1d(4)", "more than 1 value per channel", "[1,4]"}},
      {"TransformerEncoder: an attention mask of the wrong shape",
       [] {
         nn::TransformerEncoder enc([] { return std::make_shared<nn::TransformerEncoderLayer>(8, 2, 16); }, 2);
         enc(ones({3, 2, 8}), nn::generate_square_subsequent_mask(5));
       },
       IA, {"TransformerEncoder.layers[0].self_attn MultiheadAttention(E=8, heads=2)", "[L, S] = [3,3]", "[5,5]"}},
      {"MultiheadAttention: query of the wrong width", [] {
         nn::MultiheadAttention mha(8, 2);
         mha(ones({3, 2, 6}), ones({3, 2, 8}), ones({3, 2, 8}));
       },
       IA, {"MultiheadAttention(E=8, heads=2)", "6 features", "embed_dim=8", "[3,2,6]"}},
      {"MultiheadAttention: num_heads does not divide embed_dim", [] { nn::MultiheadAttention(10, 4); }, IA,
       {"MultiheadAttention", "divisible", "embed_dim=10", "num_heads=4"}},
      {"ModuleList: index out of range", [] { nn::ModuleList list{std::make_shared<nn::ReLU>()}; list[1]; }, IA,
       {"ModuleList[1]", "out of range", "1 modules"}},
      {"ModuleDict: a missing key", [] {
         nn::ModuleDict dict{{"cls", std::make_shared<nn::ReLU>()}};
         dict["reg"];
       },
       IA, {"ModuleDict", "\"reg\"", "{cls}"}},
      {"BatchNorm2d: wrong number of channels", [] { nn::BatchNorm2d(16)(ones({2, 8, 4, 4})); }, IA,
       {"BatchNorm2d(16)", "8 channels", "expected 16", "[2,8,4,4]"}},
      {"Linear: zero features", [] { nn::Linear(0, 2); }, IA, {"Linear", "positive", "0"}},
      {"Conv2d: kernel 0", [] { nn::Conv2d(3, 6, 0); }, IA, {"Conv2d", "kernel", "positive", "0"}},
      {"summary: an input shape the model refuses", [] {
         nn::Conv2d conv(3, 6, 3);
         nn::summary(conv, {1, 1, 8, 8});
       }, IA,
       {"Conv2d(3->6, 3x3)", "1 channels", "expected 3"}},
      {"Sequential: index out of range", [] { nn::Sequential()[3]; }, IA, {"Sequential[3]", "out of range", "0 modules"}},
      {"Module::to(int64)", [] { nn::Linear(2, 2).to(kInt64); }, IA, {"Linear.to", "int64"}},
      {"Dropout: p outside [0, 1]", [] { nn::Dropout(1.5); }, IA, {"Dropout", "1.5"}},
      {"Dropout: NaN p", [=] { nn::Dropout{nan}; }, IA, {"Dropout", "nan"}},
  };
}

// What one call did.
struct Outcome {
  enum Kind { Returned, Threw, ThrewNonStd } kind = Returned;
  bool type_ok = false;
  std::string message;
  std::string type_name;
};
Outcome run(const BadInput& row) {
  Outcome o;
  try {
    row.call();
  } catch (const std::exception& e) {
    o.kind = Outcome::Threw;
    o.type_ok = row.expected.matches(e);
    o.message = e.what();
  } catch (...) {
    o.kind = Outcome::ThrewNonStd;
  }
  return o;
}

// Every declaration: the ops' (ops/*.cpp) and nn::functional's composites' (nn/*.cpp).
std::vector<const OpInfo*> declarations() {
  std::vector<const OpInfo*> out;
  for (const OpInfo& op : declared_ops()) out.push_back(&op);
  for (const OpInfo& f : nn::functional::declared_functions()) out.push_back(&f);
  return out;
}

// The messages of the declared error inputs, with the op's name.
std::vector<std::pair<std::string, std::string>> declared_error_messages() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const OpInfo* op : declarations())
    for (const OpErrorInput& e : op->errors) {
      try {
        e.call();
      } catch (const std::exception& ex) {
        out.emplace_back(op->name + ": " + e.description, ex.what());
      }
    }
  return out;
}

}  // namespace

TEST_CASE("bad-input rows have unique names and something to check", "[errors][bad_inputs]") {
  std::set<std::string> names;
  for (const BadInput& row : bad_inputs()) {
    INFO(row.name);
    CHECK(names.insert(row.name).second);  // a repeated name would hide a section
    CHECK(!row.fragments.empty());
  }
  // With the error inputs the ops and nn::functional's composites declare next to
  // their definitions (checked by test_op_declarations).
  std::size_t declared = 0;
  for (const OpInfo* op : declarations()) declared += op->errors.size();
  CHECK(names.size() + declared >= 100);
}

TEST_CASE("bad inputs: each raises its exception type with a message naming the op and the shapes",
          "[errors][bad_inputs]") {
  for (const BadInput& row : bad_inputs()) {
    DYNAMIC_SECTION(row.name) {
      const Outcome o = run(row);
      INFO("message: " << o.message);
      REQUIRE(o.kind == Outcome::Threw);
      CHECK(o.type_ok);
      for (const std::string& fragment : row.fragments) CHECK_THAT(o.message, Contains(fragment));
    }
  }
}

TEST_CASE("bad inputs leave no recorded nodes behind", "[errors][bad_inputs]") {
  const std::vector<BadInput> rows = bad_inputs();
  declarations();  // built before counting (some build tensors)
  const std::int64_t before = autograd::live_nodes();
  for (const BadInput& row : rows) run(row);
  declared_error_messages();  // the declared error inputs, too
  CHECK(autograd::live_nodes() == before);
}

// Prints every row's message (hidden: run with "[.print_bad_inputs]").
TEST_CASE("print the bad-input messages", "[.print_bad_inputs]") {
  for (const BadInput& row : bad_inputs()) {
    const Outcome o = run(row);
    std::cout << "| " << row.name << " | `" << row.expected.name << "` | `" << normalised(o.message) << "` |\n";
  }
  for (const auto& [name, message] : declared_error_messages())
    std::cout << "| " << name << " | `std::invalid_argument` | `" << normalised(message) << "` |\n";
}

// README "Errors you may see": the third column of every table row quotes a real message.
TEST_CASE("README's 'Errors you may see' quotes the library's real messages", "[errors][bad_inputs][readme]") {
  // Not __FILE__: ccache's base_dir makes it relative to the build directory.
  const fs::path readme = fs::path(TAPEGRAD_SOURCE_DIR) / "README.md";
  REQUIRE(fs::exists(readme));
  std::set<std::string> real;
  for (const BadInput& row : bad_inputs()) real.insert(normalised(run(row).message));
  for (const auto& [name, message] : declared_error_messages()) real.insert(normalised(message));

  std::ifstream in(readme);
  bool inside = false;
  int quoted = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) inside = line == "## Errors you may see";
    if (!inside || line.rfind("| ", 0) != 0 || line.rfind("| situation", 0) == 0) continue;
    // | situation | `type` | `message` | what to do |
    std::vector<std::string> cells;
    std::stringstream ss(line.substr(1));
    for (std::string cell; std::getline(ss, cell, '|');) cells.push_back(cell);
    REQUIRE(cells.size() >= 4);
    std::string quote = cells[2];
    const std::size_t open = quote.find('`'), close = quote.rfind('`');
    REQUIRE(open != close);
    quote = quote.substr(open + 1, close - open - 1);
    INFO(quote);
    // A quote ending in " …" is the start of a longer (multi-line) message.
    const std::string ellipsis = " …";
    if (quote.size() > ellipsis.size() && quote.compare(quote.size() - ellipsis.size(), ellipsis.size(), ellipsis) == 0) {
      const std::string start = quote.substr(0, quote.size() - ellipsis.size());
      bool found = false;
      for (const std::string& m : real) found |= m.rfind(start, 0) == 0;
      CHECK(found);
    } else {
      CHECK(real.count(quote) == 1);
    }
    ++quoted;
  }
  CHECK(quoted >= 10);
}
