// Writes the seed corpora of the fuzz targets from valid files made with the
// library itself (plus near-misses that reach each refusal of the loaders;
// some are written with the private checkpoint writer, since save() cannot
// produce them), each input prefixed with its mode byte (fuzz_common.hpp):
//   make_fuzz_seeds OUT_DIR   ->  OUT_DIR/idx/*, OUT_DIR/checkpoint/*, OUT_DIR/csv/*, OUT_DIR/safetensors/*
// scripts/fuzz.sh runs it at fuzzing time, so no binary corpus is committed.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

#include "fuzz_common.hpp"
#include "train/checkpoint_format.hpp"

namespace {

namespace fs = std::filesystem;
using fuzz::Bytes;

void write_seed(const fs::path& dir, const std::string& name, std::uint8_t mode, const Bytes& file) {
  fuzz::write_file((dir / name).string(), Bytes(1, static_cast<char>(mode)) + file);
}

// ---- IDX ----------------------------------------------------------------------------

void put_u32_be(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

// An IDX file of type `type` with these extents and a byte pattern as data.
Bytes idx(std::uint8_t type, const std::vector<std::uint32_t>& dims, std::size_t data_bytes) {
  Bytes out{0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (const std::uint32_t d : dims) put_u32_be(out, d);
  for (std::size_t i = 0; i < data_bytes; ++i) out.push_back(static_cast<char>(i * 37 % 251));
  return out;
}
Bytes idx_u8(const std::vector<std::uint32_t>& dims) {
  std::size_t n = 1;
  for (const std::uint32_t d : dims) n *= d;
  return idx(0x08, dims, n);
}

void idx_seeds(const fs::path& dir) {
  using namespace fuzz;
  const std::vector<std::pair<std::string, Bytes>> valid = {
      {"labels", idx_u8({10})},                     // MNIST labels: 0x00000801
      {"images", idx_u8({3, 5, 4})},                // MNIST images: 0x00000803
      {"empty", idx_u8({0, 28, 28})},               // zero images
      {"eight_dims", idx_u8({1, 2, 1, 2, 1, 2, 1, 2})},
  };
  for (const auto& [name, file] : valid) {
    write_seed(dir, name + ".plain", idx_mode_byte(kIdxRaw), file);
    write_seed(dir, name + ".gz", idx_mode_byte(kIdxRaw), gzip(file));
    write_seed(dir, name + ".by_harness.gz", idx_mode_byte(kIdxGzip), file);
  }
  const Bytes images = idx_u8({3, 5, 4});
  write_seed(dir, "images.cut4.gz", idx_mode_byte(kIdxGzipCut, 4), images);
  write_seed(dir, "images.cut12.gz", idx_mode_byte(kIdxGzipCut, 12), images);
  write_seed(dir, "images.trailing8.gz", idx_mode_byte(kIdxGzipTrailing, 8), images);
  // Near-misses: another element type, one data byte too many or too few.
  write_seed(dir, "float32.plain", idx_mode_byte(kIdxRaw), idx(0x0D, {2, 2}, 16));
  write_seed(dir, "one_extra.plain", idx_mode_byte(kIdxRaw), idx(0x08, {2, 3}, 7));
  write_seed(dir, "one_short.plain", idx_mode_byte(kIdxRaw), idx(0x08, {2, 3}, 5));
}

// ---- checkpoints ----------------------------------------------------------------------

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// The checkpoint `save` writes, as bytes.
template <class Object> Bytes saved(const Object& object) {
  const std::string path = fuzz::scratch_path("tapegrad_fuzz_seed");
  tg::save(object, path);
  Bytes bytes = read_file(path);
  std::remove(path.c_str());
  return bytes;
}

// A checkpoint file of any kind and tensors, as bytes.
Bytes written(const std::string& kind, const tg::detail::NamedTensorList& tensors) {
  const std::string path = fuzz::scratch_path("tapegrad_fuzz_seed");
  tg::detail::write_checkpoint(path, kind, tensors);
  Bytes bytes = read_file(path);
  std::remove(path.c_str());
  return bytes;
}

void checkpoint_seeds(const fs::path& dir) {
  using namespace fuzz;
  const auto model = make_model();
  const auto optimizer = make_optimizer(*model);
  std::vector<std::pair<std::string, Bytes>> files;
  files.emplace_back("module", saved(*model));
  files.emplace_back("sgd_fresh", saved(*optimizer));  // lr and num_params only
  train_step(*model, *optimizer);
  files.emplace_back("sgd_momentum", saved(*optimizer));  // with step.i and momentum_buffer.i
  // Files that must be refused by the fixed model and optimizer, reaching the mismatch checks.
  files.emplace_back("module_float64", saved(make_model()->to(tg::kFloat64)));
  files.emplace_back("module_other", saved(tg::nn::Linear(4, 3)));
  const auto adam_model = make_model();
  tg::optim::Adam adam(adam_model->parameters());
  train_step(*adam_model, adam);
  files.emplace_back("adam", saved(adam));
  const auto float64_model = make_model();
  float64_model->to(tg::kFloat64);
  const auto float64_sgd = make_optimizer(*float64_model);
  train_step(*float64_model, *float64_sgd);
  files.emplace_back("sgd_float64", saved(*float64_sgd));
  // Near-misses save() cannot write: a tensor the model lacks, optimizer states
  // missing a count or a step, and an index too long to be one.
  tg::detail::NamedTensorList extra(model->named_parameters());
  extra.emplace_back("3.weight", tg::zeros({2, 1}));
  files.emplace_back("module_extra", written("module", extra));
  const tg::Tensor lr = tg::scalar_tensor(0.1, tg::kFloat64), count = tg::tensor_i64({4}, tg::Shape{});
  const tg::Tensor buffer = tg::zeros({4, 3}), step = tg::tensor_i64({1}, tg::Shape{});
  files.emplace_back("sgd_no_count", written("optimizer:SGD", {{"lr", lr}}));
  files.emplace_back("sgd_no_step", written("optimizer:SGD", {{"lr", lr}, {"num_params", count}, {"momentum_buffer.0", buffer}}));
  files.emplace_back("sgd_long_index",
                     written("optimizer:SGD", {{"lr", lr}, {"num_params", count}, {"step.0000000000", step}}));
  for (const auto& [name, file] : files) {
    write_seed(dir, name + ".raw", kCheckpointRaw, file);
    write_seed(dir, name + ".fix", kCheckpointFixHeader, file);
  }
}

// safetensors seeds: files save_safetensors and write_safetensors make (both
// layouts, every dtype, metadata), F16 / BF16 files written by hand, and near-misses.
void safetensors_seeds(const fs::path& dir) {
  using namespace fuzz;
  const std::string path = scratch_path("tapegrad_fuzz_seed");
  auto file_of = [&](auto&& write) {
    write(path);
    Bytes bytes = read_file(path);
    std::remove(path.c_str());
    return bytes;
  };
  const auto model = make_model();
  std::vector<std::pair<std::string, Bytes>> files;
  files.emplace_back("module_pytorch", file_of([&](const std::string& p) { tg::io::save_safetensors(*model, p); }));
  files.emplace_back("module_tapegrad", file_of([&](const std::string& p) {
                       tg::io::save_safetensors(*model, p, {tg::io::Layout::Tapegrad, {{"epoch", "3"}}});
                     }));
  files.emplace_back("module_float64", file_of([&](const std::string& p) {
                       tg::io::save_safetensors(make_model()->to(tg::kFloat64), p);
                     }));
  files.emplace_back("dtypes", file_of([&](const std::string& p) {
                       tg::io::write_safetensors(p,
                                                 {{"f", tg::ones({2, 3})},
                                                  {"d", tg::zeros({0, 4}, tg::kFloat64)},
                                                  {"i", tg::tensor_i64({1, -2}, {2})},
                                                  {"s", tg::scalar_tensor(2.0)}},
                                                 {{"note", "\"quoted\" \u00e9"}});
                     }));
  const Bytes half_header = R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
                            R"("b":{"dtype":"BF16","shape":[1,1],"data_offsets":[4,6]}})";
  Bytes half;
  for (int i = 0; i < 8; ++i) half += static_cast<char>(std::uint64_t{half_header.size()} >> (8 * i));
  files.emplace_back("half", half + half_header + Bytes("\x00\x3c\x01\x80\x80\x3f", 6));
  files.emplace_back("empty", Bytes("\x02\0\0\0\0\0\0\0{}", 10));
  for (const auto& [name, file] : files) {
    write_seed(dir, name + ".raw", kSafetensorsRaw, file);
    write_seed(dir, name + ".fit", kSafetensorsFitLength, file);
  }
}

// CSV seeds: mode byte (see fuzz_csv.cpp), then the file.
void csv_seeds(const fs::path& dir) {
  const Bytes iris = "5.1,3.5,setosa\n4.9,3.0,setosa\n7.0,3.2,versicolor\n";
  write_seed(dir, "target_last.csv", 4, iris);
  write_seed(dir, "target_last.gz", 5, iris);
  write_seed(dir, "header.csv", 2 | 4, "sepal,petal,species\n" + iris);
  write_seed(dir, "summary_line.csv", 4 | 32, "3,2,setosa,versicolor\n" + iris);
  write_seed(dir, "categorical.csv", 2 | 8, "colour,weight\nred,1.5\n\"dark \"\"blue\"\"\",2\nred,NA\n");
  write_seed(dir, "semicolon.csv", 2 | 4 | 16, "a;b;c\n1;2;x\n3;4;y\n");
  write_seed(dir, "quoted_newline.csv", 2, "a,b\n\"1\n2\",3\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_seeds OUT_DIR\n");
    return 2;
  }
  const fs::path out = argv[1];
  fs::create_directories(out / "idx");
  fs::create_directories(out / "checkpoint");
  fs::create_directories(out / "csv");
  fs::create_directories(out / "safetensors");
  idx_seeds(out / "idx");
  checkpoint_seeds(out / "checkpoint");
  csv_seeds(out / "csv");
  safetensors_seeds(out / "safetensors");
  return 0;
}
