// Checkpoints: bit-exact round trips of models and optimizers (training
// resumes exactly), and every refusal of a bad file, each naming the file and
// the tensor.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"

using namespace tg;
using namespace tg::nn;
using namespace tg::optim;
using Catch::Contains;
namespace fs = std::filesystem;
using Bytes = std::string;

namespace {

// A fresh directory per test case, removed afterwards.
using tg::testing::TempDir;
using tg::testing::read_bytes;
using tg::testing::write_bytes;


// The bytes of every tensor, for bit-exact comparisons.
std::vector<Bytes> raw(const std::vector<Tensor>& ts) {
  std::vector<Bytes> out;
  for (const Tensor& t : ts)
    out.emplace_back(static_cast<const char*>(t.raw_data()), static_cast<std::size_t>(t.numel()) * element_size(t.dtype()));
  return out;
}

// An independent bitwise CRC-32 (IEEE 802.3, as zlib's crc32), to build files by hand.
std::uint32_t crc32_reference(const Bytes& data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

template <class T> void put(Bytes& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>(static_cast<std::uint64_t>(v) >> (8 * i)));
}
// A well-formed header around `payload` (the documented layout).
Bytes with_header(const Bytes& payload, std::uint32_t version = 1) {
  Bytes file = "TAPEGRAD";
  put<std::uint32_t>(file, version);
  put<std::uint32_t>(file, 0);
  put<std::uint64_t>(file, payload.size());
  put<std::uint32_t>(file, crc32_reference(payload));
  put<std::uint32_t>(file, 0);
  return file + payload;
}

std::shared_ptr<Sequential> mlp() {
  return std::make_shared<Sequential>(std::make_shared<Linear>(3, 8), std::make_shared<Tanh>(),
                                      std::make_shared<Linear>(8, 2));
}

void train_steps(Module& model, Optimizer& opt, int steps, int seed) {
  manual_seed(static_cast<std::uint64_t>(seed));
  for (int i = 0; i < steps; ++i) {
    Tensor x = randn({5, 3});
    Tensor labels = randint(0, 2, {5});
    opt.zero_grad();
    nn::functional::cross_entropy(model(x), labels).backward();
    opt.step();
  }
}

}  // namespace

TEST_CASE("save -> load round-trips a model bit-exactly", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.tgc");
  manual_seed(1);
  auto a = mlp();
  save(a, path);
  manual_seed(2);
  auto b = mlp();
  REQUIRE(raw(a->parameters()) != raw(b->parameters()));
  load(b, path);
  CHECK(raw(a->parameters()) == raw(b->parameters()));
  CHECK(b->parameters()[0].requires_grad());
  // float64 models too, and the file on disk is the documented format.
  a->to(kFloat64);
  b->to(kFloat64);
  save(*a, path);
  init::zeros_(b->at<Linear>(0)->weight);
  load(*b, path);
  CHECK(raw(a->parameters()) == raw(b->parameters()));
  const Bytes file = read_bytes(path);
  CHECK(file.substr(0, 8) == "TAPEGRAD");
  CHECK(file.substr(32 + 2, 6) == "module");
  std::uint32_t stored_crc = 0;
  std::memcpy(&stored_crc, file.data() + 24, 4);
  CHECK(stored_crc == crc32_reference(file.substr(32)));
  // No temporary files are left behind.
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("buffers are saved and loaded with the parameters", "[checkpoint]") {
  struct WithStats : Module {
    Tensor weight, mean, count;
    WithStats() {
      weight = register_parameter("weight", randn({2, 2}));
      mean = register_buffer("mean", randn({2}));
      count = register_buffer("count", tensor_i64({7}, {1}));
    }
    Tensor forward(const Tensor& x) override { return x; }
  };
  TempDir dir;
  manual_seed(1);
  WithStats a;
  save(a, dir.file("s.tgc"));
  manual_seed(2);
  WithStats b;
  b.count.data<std::int64_t>()[0] = 0;
  load(b, dir.file("s.tgc"));
  CHECK(raw({b.weight, b.mean, b.count}) == raw({a.weight, a.mean, a.count}));
  CHECK(b.count.data<std::int64_t>()[0] == 7);
}

TEST_CASE("model + optimizer checkpoints resume training exactly", "[checkpoint]") {
  TempDir dir;
  for (int which = 0; which < 3; ++which) {
    INFO("optimizer " << which);
    auto make_opt = [which](const std::vector<Tensor>& p) -> std::unique_ptr<Optimizer> {
      if (which == 0) return std::make_unique<SGD>(p, SGDOptions(0.1).momentum(0.9).nesterov(true));
      if (which == 1) return std::make_unique<Adam>(p, AdamOptions(0.01).weight_decay(0.01));
      return std::make_unique<AdamW>(p, AdamWOptions(0.01));
    };
    manual_seed(10);
    auto model = mlp();
    auto opt = make_opt(model->parameters());
    train_steps(*model, *opt, 3, 100);
    opt->set_lr(opt->lr() * 0.5);  // as a scheduler would
    save(model, dir.file("m.tgc"));
    save(*opt, dir.file("o.tgc"));
    train_steps(*model, *opt, 4, 200);
    const std::vector<Bytes> uninterrupted = raw(model->parameters());

    manual_seed(11);
    auto resumed = mlp();
    auto opt2 = make_opt(resumed->parameters());
    load(resumed, dir.file("m.tgc"));
    load(*opt2, dir.file("o.tgc"));
    CHECK(opt2->lr() == opt->lr());
    train_steps(*resumed, *opt2, 4, 200);
    CHECK(raw(resumed->parameters()) == uninterrupted);
  }
}

TEST_CASE("loading refuses a file that is not a valid checkpoint", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("m.tgc");
  Linear model(2, 1);
  save(model, path);
  const Bytes good = read_bytes(path);
  const std::vector<Bytes> before = raw(model.parameters());
  auto refused = [&](const Bytes& bytes) {
    write_bytes(path, bytes);
    try {
      load(model, path);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };

  CHECK_THAT(refused("not a checkpoint at all, just some text......"), Contains("'" + path + "'") && Contains("wrong magic"));
  Bytes newer = good;
  newer[8] = 2;
  CHECK_THAT(refused(newer), Contains("format version 2") && Contains("newer tapegrad"));
  CHECK_THAT(refused(good.substr(0, good.size() - 3)), Contains("'" + path + "' is truncated") && Contains("only"));
  CHECK_THAT(refused(good.substr(0, 20)), Contains("truncated") && Contains("header"));
  CHECK_THAT(refused(good + "xx"), Contains("2 unexpected bytes"));
  Bytes flipped = good;
  flipped[good.size() - 2] ^= 0x10;  // inside the bias' data
  CHECK_THAT(refused(flipped), Contains("'" + path + "' is corrupt: checksum mismatch"));
  // Any single flipped bit, anywhere in the file, is refused.
  for (std::size_t i = 0; i < good.size(); ++i) {
    Bytes bad = good;
    bad[i] ^= 0x01;
    INFO("byte " << i);
    CHECK(refused(bad) != "(accepted)");
  }
  CHECK(raw(model.parameters()) == before);  // nothing was changed by a refused load
  CHECK_THROWS_WITH(load(model, dir.file("missing.tgc")), Contains("cannot open") && Contains("missing.tgc"));
}

TEST_CASE("sizes in the file are checked before anything is allocated", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("huge.tgc");
  Linear model(2, 1);
  // A valid header and checksum around a record claiming a [2^40, 2^40] float64 tensor.
  Bytes payload;
  put<std::uint16_t>(payload, 6);
  payload += "module";
  put<std::uint32_t>(payload, 1);
  put<std::uint16_t>(payload, 6);
  payload += "weight";
  put<std::uint8_t>(payload, 1);
  put<std::uint8_t>(payload, 2);
  put<std::int64_t>(payload, std::int64_t{1} << 40);
  put<std::int64_t>(payload, std::int64_t{1} << 40);
  payload += "12345678";
  write_bytes(path, with_header(payload));
  CHECK_THROWS_WITH(load(model, path), Contains("tensor 'weight'") && Contains("[1099511627776,1099511627776]") &&
                                           Contains("needs more bytes"));
  // A tensor count far beyond the data (beyond tg::ReadLimits' too, or within it),
  // and a name longer than the file.
  for (const std::uint32_t count : {0xFFFFFFFFu, 1000u}) {
    Bytes many;
    put<std::uint16_t>(many, 6);
    many += "module";
    put<std::uint32_t>(many, count);
    write_bytes(path, with_header(many));
    if (count > ReadLimits().max_checkpoint_tensors)
      CHECK_THROWS_WITH(load(model, path), Contains("4294967295 tensors") && Contains("max_checkpoint_tensors"));
    else
      CHECK_THROWS_WITH(load(model, path), Contains("malformed") && Contains("tensor name length"));
  }
  Bytes long_name;
  put<std::uint16_t>(long_name, 6);
  long_name += "module";
  put<std::uint32_t>(long_name, 1);
  put<std::uint16_t>(long_name, 4000);
  write_bytes(path, with_header(long_name));
  CHECK_THROWS_WITH(load(model, path), Contains("malformed") && Contains("tensor name needs 4000 bytes"));
  // Our hand-built format is the real one: an empty module file loads into a module without parameters.
  Bytes empty;
  put<std::uint16_t>(empty, 6);
  empty += "module";
  put<std::uint32_t>(empty, 0);
  write_bytes(path, with_header(empty));
  ReLU relu_module;
  CHECK_NOTHROW(load(relu_module, path));
  write_bytes(path, with_header(empty, 0));
  CHECK_THROWS_WITH(load(relu_module, path), Contains("invalid format version 0"));
}

// Found by fuzz/fuzz_checkpoint (scripts/fuzz.sh): a zero extent made the size
// check pass whatever the other extents were, and building the tensor then
// overflowed int64 (signed overflow in Shape::numel: 253403070464 * 16607023625928707).
TEST_CASE("a zero extent does not excuse extents that overflow (fuzzer finding)", "[checkpoint][fuzz]") {
  TempDir dir;
  const std::string path = dir.file("fuzz.tgc");
  // The fuzzer's input, as the file it wrote: kind "", 59 tensors, the first named "\0\0\0",
  // float32, shape [0x3b00000000, 0x003b000000000003, 0], and the file ends there.
  const char file[] =
      "\x54\x41\x50\x45\x47\x52\x41\x44\x01\x00\x00\x00\x00\x00\x00\x00\x25\x00\x00\x00\x00\x00\x00\x00\xee\x0e\x1f"
      "\xe2\x00\x00\x00\x00\x00\x00\x3b\x00\x00\x00\x03\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x3b\x00\x00\x00\x03"
      "\x00\x00\x00\x00\x00\x3b\x00\x00\x00\x00\x00\x00\x00\x00\x00";
  write_bytes(path, Bytes(file, sizeof file - 1));
  Linear model(2, 1);
  // Refused at that tensor (before, this file failed later, at "tensor name length"). The
  // message stops inside the name: what() is a C string, and the name is NUL bytes.
  CHECK_THROWS_AS(load(model, path), std::invalid_argument);
  CHECK_THROWS_WITH(load(model, path), Catch::Equals("load: '" + path + "' is malformed: tensor '"));
  SGD sgd(model.parameters(), SGDOptions(0.1).momentum(0.9));
  CHECK_THROWS_WITH(load(sgd, path), Catch::Equals("load: '" + path + "' is malformed: tensor '"));

  // The same shape in a well-formed file, named: the whole message.
  auto module_file = [](std::vector<std::int64_t> shape) {
    Bytes payload;
    put<std::uint16_t>(payload, 6);
    payload += "module";
    put<std::uint32_t>(payload, 1);
    put<std::uint16_t>(payload, 6);
    payload += "weight";
    put<std::uint8_t>(payload, 0);
    put<std::uint8_t>(payload, static_cast<std::uint8_t>(shape.size()));
    for (std::int64_t extent : shape) put<std::int64_t>(payload, extent);
    return with_header(payload);
  };
  write_bytes(path, module_file({std::int64_t{0x3b00000000}, std::int64_t{0x003b000000000003}, 0}));
  CHECK_THROWS_WITH(load(model, path), Contains("fuzz.tgc' is malformed: tensor 'weight' has shape "
                                                "[253403070464,16607023625928707,0], whose extents multiply "
                                                "beyond 2^63-1"));
  // The zero first: refused the same way (here Shape::strides would overflow).
  write_bytes(path, module_file({0, std::int64_t{1} << 32, std::int64_t{1} << 31}));
  CHECK_THROWS_WITH(load(model, path), Contains("[0,4294967296,2147483648]") && Contains("multiply beyond 2^63-1"));
  // Empty tensors of a sane shape are read: the refusal is then the model's shape, not the file.
  write_bytes(path, module_file({0, std::int64_t{1} << 32, (std::int64_t{1} << 31) - 1}));
  CHECK_THROWS_WITH(load(model, path), Contains("has shape [0,4294967296,2147483647], but the model's has shape [2,1]"));
}

TEST_CASE("loading into the wrong model names the tensor", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("m.tgc");
  save(Linear(2, 3), path);
  Linear no_bias(2, 3, false);
  CHECK_THROWS_WITH(load(no_bias, path), Contains("'" + path + "' has tensor 'bias' [3], which the model (Linear) does not have"));
  save(no_bias, path);
  Linear with_bias(2, 3);
  CHECK_THROWS_WITH(load(with_bias, path), Contains("'" + path + "' has no tensor 'bias', which the model (Linear) needs"));
  save(Linear(2, 3), path);
  Linear wider(2, 4);
  CHECK_THROWS_WITH(load(wider, path),
                    Contains("tensor 'weight' in '" + path + "' has shape [2,3], but the model's has shape [2,4]"));
  Linear f64(2, 3);
  f64.to(kFloat64);
  CHECK_THROWS_WITH(load(f64, path), Contains("tensor 'weight' in '" + path + "' is float32, but the model's is float64"));
  // A different architecture: the first tensor the file lacks is named.
  save(mlp(), path);
  Sequential other(std::make_shared<Linear>(3, 8), std::make_shared<Linear>(8, 2));
  CHECK_THROWS_WITH(load(other, path), Contains("has no tensor '1.weight'") && Contains("Sequential"));
  // Optimizer state is not a model.
  Tensor w = tensor({1.0}).requires_grad_();
  SGD sgd({w}, 0.1);
  save(sgd, path);
  CHECK_THROWS_WITH(load(other, path), Contains("holds SGD optimizer state, not a module's parameters"));
}

TEST_CASE("loading optimizer state refuses a mismatch", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("o.tgc");
  auto model = mlp();
  Adam adam(model->parameters(), AdamOptions(0.01));
  train_steps(*model, adam, 1, 3);
  save(adam, path);

  SGD sgd(model->parameters(), 0.1);
  CHECK_THROWS_WITH(load(sgd, path), Contains("holds Adam optimizer state, not SGD optimizer state"));
  Adam fewer({model->parameters()[0]}, AdamOptions(0.01));
  CHECK_THROWS_WITH(load(fewer, path), Contains("'num_params'") && Contains("saved for 4 parameters") &&
                                           Contains("this optimizer has 1"));
  auto other = std::make_shared<Sequential>(std::make_shared<Linear>(3, 9), std::make_shared<Tanh>(),
                                            std::make_shared<Linear>(9, 2));
  Adam mismatched(other->parameters(), AdamOptions(0.01));
  CHECK_THROWS_WITH(load(mismatched, path), Contains("'" + path + "'") && Contains("tensor 'exp_avg.0' has shape [3,8]") &&
                                                Contains("parameter 0 has shape [3,9]"));
  // A refused load leaves the optimizer as it was: it still steps from zero state.
  CHECK(mismatched.state_dict().size() == 2);
  CHECK_THROWS_WITH(load(adam, dir.file("absent.tgc")), Contains("cannot open"));
}

TEST_CASE("a failed save leaves the previous checkpoint intact", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("m.tgc");
  Linear model(2, 2);
  save(model, path);
  const Bytes previous = read_bytes(path);
  CHECK_THROWS_AS(save(model, dir.file("no/such/dir/m.tgc")), std::runtime_error);
  // A module whose tensor name cannot be stored fails before touching the file.
  struct LongName : Module {
    LongName() { register_parameter(std::string(5000, 'w'), ones({1})); }
    Tensor forward(const Tensor& x) override { return x; }
  };
  LongName bad;
  CHECK_THROWS_WITH(save(bad, path), Contains("must have 1 to 4096 bytes"));
  CHECK(read_bytes(path) == previous);
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}
