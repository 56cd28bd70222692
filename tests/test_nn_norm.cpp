// Normalisation layers: BatchNorm1d/2d, LayerNorm, GroupNorm, InstanceNorm2d,
// RMSNorm. Against PyTorch (tests/data/norm_layers_reference.txt, written by
// tests/torch_reference/norm_layers.py): outputs, input and parameter gradients
// and running statistics over two training calls and one eval call, and the
// state_dict names. Then module gradchecks in float64, known answers, printing,
// summary rows, checkpoint and safetensors round trips, and errors naming the
// module path and shapes.
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "test_helpers.hpp"
#include "torch_reference_file.hpp"

using namespace tg;
using namespace tg::nn;
namespace F = tg::nn::functional;
using Catch::Contains;
using V = std::vector<double>;

namespace {

// The same names, and the same modules, as CASES in tests/torch_reference/norm_layers.py.
const std::map<std::string, std::function<ModulePtr()>>& cases() {
  static const std::map<std::string, std::function<ModulePtr()>> all = {
      {"batchnorm1d_nc_affine", [] { return std::make_shared<BatchNorm1d>(3); }},
      {"batchnorm1d_ncl_no_affine_momentum_0.2", [] { return std::make_shared<BatchNorm1d>(3, 1e-5, 0.2, false); }},
      {"batchnorm2d_affine", [] { return std::make_shared<BatchNorm2d>(2); }},
      {"batchnorm2d_momentum_none", [] { return std::make_shared<BatchNorm2d>(2, 1e-5, std::nullopt); }},
      {"batchnorm2d_no_running_stats", [] { return std::make_shared<BatchNorm2d>(2, 1e-5, 0.1, true, false); }},
      {"batchnorm2d_eps_0.1", [] { return std::make_shared<BatchNorm2d>(3, 0.1); }},
      {"batchnorm2d_float32", [] { return std::make_shared<BatchNorm2d>(2); }},
      {"layernorm_last", [] { return std::make_shared<LayerNorm>(std::vector<std::int64_t>{4}); }},
      {"layernorm_last_two_no_affine",
       [] { return std::make_shared<LayerNorm>(std::vector<std::int64_t>{3, 4}, 1e-3, false); }},
      {"layernorm_float32", [] { return std::make_shared<LayerNorm>(std::vector<std::int64_t>{5}); }},
      {"groupnorm_2_of_4", [] { return std::make_shared<GroupNorm>(2, 4); }},
      {"groupnorm_3_of_6_no_affine", [] { return std::make_shared<GroupNorm>(3, 6, 1e-5, false); }},
      {"groupnorm_1_of_3", [] { return std::make_shared<GroupNorm>(1, 3, 1e-3); }},
      {"instancenorm2d_default", [] { return std::make_shared<InstanceNorm2d>(3); }},
      {"instancenorm2d_affine_running_stats",
       [] { return std::make_shared<InstanceNorm2d>(2, 1e-5, 0.1, true, true); }},
      {"instancenorm2d_unbatched", [] { return std::make_shared<InstanceNorm2d>(2, 1e-5, 0.1, true); }},
      {"rmsnorm_last", [] { return std::make_shared<RMSNorm>(std::vector<std::int64_t>{4}); }},
      {"rmsnorm_last_two_eps_no_affine",
       [] { return std::make_shared<RMSNorm>(std::vector<std::int64_t>{2, 3}, 1e-5, false); }},
      {"rmsnorm_float32", [] { return std::make_shared<RMSNorm>(std::vector<std::int64_t>{5}); }},
  };
  return all;
}

// The case's call: the parameters from the inputs, then three calls (train, train,
// eval), each reporting its output, the gradients of the input and of every
// parameter, and the buffers after it -- by the names norm_layers.py gives them.
// The names come from the module, so they also check PyTorch's state_dict keys.
testing::ReferenceResult run_case(Module& m, const std::vector<Tensor>& inputs, int& buffers) {
  m.to(inputs.back().dtype());  // the case's dtype
  const NamedTensors params = m.named_parameters();
  const std::vector<std::string> modes = {"train", "train", "eval"};
  REQUIRE(inputs.size() == params.size() + 2 * modes.size());
  {
    NoGradGuard no_grad;
    for (std::size_t i = 0; i < params.size(); ++i) {
      REQUIRE(params[i].second.shape() == inputs[i].shape());
      Tensor(params[i].second).copy_(inputs[i]);
    }
  }
  NamedTensors named;
  for (std::size_t step = 0; step < modes.size(); ++step) {
    const Tensor& x = inputs[params.size() + 2 * step];
    const Tensor& seed = inputs[params.size() + 2 * step + 1];
    m.train(modes[step] == "train");
    m.zero_grad();
    const Tensor y = m(x);
    y.backward(seed);
    const std::string prefix = modes[step] + std::to_string(step + 1) + ".";
    named.emplace_back(prefix + "output", y);
    named.emplace_back(prefix + "grad.input", x.grad());
    for (const auto& [n, p] : params) named.emplace_back(prefix + "grad." + n, p.grad().clone());
    for (const auto& [n, b] : m.named_buffers()) {
      named.emplace_back(prefix + n, b.clone());
      ++buffers;
    }
  }
  return named;
}

// Within a few float64 rounding errors of PyTorch (the sums run in another order),
// or of float32's for a float32 case: relative above 1, absolute below;
// num_batches_tracked exactly.
testing::Tolerance norm_tolerance(const std::string&, Dtype dtype, const std::string&) {
  if (dtype == kInt64) return {};
  const double rel = dtype == kFloat64 ? 1e-10 : 2e-5;
  return {rel, 0, 1};
}

Tensor named(const NamedTensors& list, const std::string& name) {
  for (const auto& [n, t] : list)
    if (n == name) return t;
  FAIL("no tensor named " << name);
  return Tensor();
}

// Seeded float64 values, spread and shifted so that no statistic is trivially 0 or 1.
Tensor spread(const Shape& shape, std::uint64_t seed) {
  manual_seed(seed);
  return randn(shape, kFloat64) * 1.5 + 0.25;
}

void check_module(Module& m, const Tensor& x) {
  GradcheckResult r = gradcheck_module(m, x);
  INFO(m.brief() << ": " << r.message);
  CHECK(r.passed);
}

}  // namespace

TEST_CASE("normalisation layers agree with PyTorch in training and eval mode", "[nn][norm][torch_reference]") {
  int buffers = 0;
  testing::ReferenceCases calls;
  for (const auto& [name, make] : cases())
    calls[name] = [&buffers, make = make](const std::vector<Tensor>& inputs) {
      const ModulePtr m = make();
      return run_case(*m, inputs, buffers);
    };
  testing::check_against_pytorch("tests/data/norm_layers_reference.txt", calls, norm_tolerance);
  CHECK(buffers >= 50);
}

TEST_CASE("BatchNorm: known answers for the statistics and the running update", "[nn][norm]") {
  BatchNorm1d bn(2, 0.0, 0.5);
  // Channel 0: 1, 3 (mean 2, biased var 1, unbiased 2); channel 1: 0, 4 (mean 2, var 4, unbiased 8).
  Tensor x = tensor({1, 0, 3, 4}, {2, 2});
  testing::check_values(bn(x), {-1, -1, 1, 1}, 1e-7);
  testing::check_values(bn.running_mean, {1, 1});        // 0.5 * 0 + 0.5 * 2
  testing::check_values(bn.running_var, {1.5, 4.5});     // 0.5 * 1 + 0.5 * unbiased var
  CHECK(bn.num_batches_tracked.item<std::int64_t>() == 1);
  bn.eval();
  // (x - running_mean) / sqrt(running_var): eval mode ignores the batch.
  testing::check_values(bn(tensor({1, 1}, {1, 2})), {0, 0});
  testing::check_values(bn(tensor({4, 10}, {1, 2})), {3 / std::sqrt(1.5), 9 / std::sqrt(4.5)}, 1e-6);
  CHECK(bn.num_batches_tracked.item<std::int64_t>() == 1);  // eval calls do not count

  // momentum nullopt: the running stats are the plain average of every batch's.
  BatchNorm1d cumulative(1, 1e-5, std::nullopt, false);
  cumulative(tensor({0, 2}, {2, 1}));   // mean 1
  cumulative(tensor({4, 6}, {2, 1}));   // mean 5
  cumulative(tensor({5, 9}, {2, 1}));   // mean 7
  testing::check_values(cumulative.running_mean, {(1.0 + 5 + 7) / 3}, 1e-6);
  testing::check_values(cumulative.running_var, {(2.0 + 2 + 8) / 3}, 1e-6);
}

TEST_CASE("LayerNorm, GroupNorm, InstanceNorm2d, RMSNorm: known answers", "[nn][norm]") {
  // Rows (1, 3) and (2, 6): each standardised to (-1, 1).
  LayerNorm ln({2}, 0.0);
  testing::check_values(ln(tensor({1, 3, 2, 6}, {2, 2})), {-1, 1, -1, 1}, 1e-7);
  // One group holding both channels: mean 2.5 over 1..4, biased var 1.25.
  GroupNorm gn(1, 2, 0.0);
  const double s = std::sqrt(1.25);
  testing::check_values(gn(tensor({1, 2, 3, 4}, {1, 2, 2})), {-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s}, 1e-6);
  // Two groups of one channel each: every channel alone.
  GroupNorm per_channel(2, 2, 0.0);
  testing::check_values(per_channel(tensor({1, 3, 5, 9}, {1, 2, 2})), {-1, 1, -1, 1}, 1e-7);
  // Each (sample, channel) map of InstanceNorm2d on its own, in eval mode too.
  InstanceNorm2d in(1, 0.0);
  in.eval();
  testing::check_values(in(tensor({1, 3, 10, 20}, {2, 1, 1, 2})), {-1, 1, -1, 1}, 1e-7);
  // RMSNorm: (3, 4) has rms sqrt(12.5).
  RMSNorm rms({2}, 0.0);
  testing::check_values(rms(tensor({3, 4}, {1, 2})), {3 / std::sqrt(12.5), 4 / std::sqrt(12.5)}, 1e-6);
  // eps nullopt is the dtype's machine epsilon: at x = 0 the output is 0 / sqrt(eps).
  RMSNorm machine_eps({2});
  CHECK(machine_eps(zeros({1, 2})).to_vector() == std::vector<double>{0, 0});
  Tensor tiny = full({1, 1}, 1e-4, kFloat64);
  const double eps64 = std::numeric_limits<double>::epsilon();
  RMSNorm one({1});
  one.to(kFloat64);
  CHECK(one(tiny).item() == Approx(1e-4 / std::sqrt(1e-8 + eps64)).epsilon(1e-14));
  Tensor tiny32 = full({1, 1}, 1e-4, kFloat32);
  RMSNorm one32({1});
  const double eps32 = std::numeric_limits<float>::epsilon();
  CHECK(one32(tiny32).item() == Approx(1e-4 / std::sqrt(1e-8 + eps32)).epsilon(1e-5));
}

TEST_CASE("normalisation layers pass gradcheck in float64, in training and eval mode", "[nn][norm][gradcheck]") {
  std::vector<std::pair<ModulePtr, Shape>> modules = {
      {std::make_shared<BatchNorm1d>(3), {4, 3}},
      {std::make_shared<BatchNorm1d>(2, 1e-5, 0.1, false), {3, 2, 2}},
      {std::make_shared<BatchNorm2d>(2), {2, 2, 2, 3}},
      {std::make_shared<BatchNorm2d>(2, 1e-5, 0.1, true, false), {2, 2, 2, 2}},
      {std::make_shared<LayerNorm>(std::vector<std::int64_t>{3}), {2, 2, 3}},
      {std::make_shared<LayerNorm>(std::vector<std::int64_t>{2, 3}, 1e-5, false), {2, 2, 3}},
      {std::make_shared<GroupNorm>(2, 4), {2, 4, 3}},
      {std::make_shared<InstanceNorm2d>(2, 1e-5, 0.1, true, true), {2, 2, 2, 2}},
      {std::make_shared<InstanceNorm2d>(2, 1e-5, 0.1, true), {2, 2, 3}},
      {std::make_shared<RMSNorm>(std::vector<std::int64_t>{4}), {3, 4}},
  };
  std::uint64_t seed = 1;
  for (auto& [m, shape] : modules) {
    m->to(kFloat64);
    // Weights away from their ones/zeros init, so a wrong gradient cannot hide behind them.
    for (auto [n, p] : m->named_parameters()) {
      NoGradGuard no_grad;
      p.copy_(spread(p.shape(), seed++));
    }
    m->train();
    check_module(*m, spread(shape, seed++));
    m->eval();
    check_module(*m, spread(shape, seed++));
  }
}

TEST_CASE("normalisation layers: names, printing and summary rows", "[nn][norm]") {
  BatchNorm2d bn(3);
  std::ostringstream os;
  os << bn;
  CHECK(os.str() == "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)");
  CHECK(bn.weight.to_vector() == V{1, 1, 1});
  CHECK(bn.bias.to_vector() == V{0, 0, 0});
  CHECK(bn.running_mean.to_vector() == V{0, 0, 0});
  CHECK(bn.running_var.to_vector() == V{1, 1, 1});
  CHECK(bn.num_batches_tracked.dtype() == kInt64);
  CHECK(bn.num_batches_tracked.dim() == 0);
  CHECK_FALSE(bn.running_mean.requires_grad());
  std::ostringstream none;
  none << BatchNorm1d(4, 1e-3, std::nullopt, false, false);
  CHECK(none.str() == "BatchNorm1d(4, eps=0.001, momentum=None, affine=false, track_running_stats=false)");
  CHECK(BatchNorm1d(4, 1e-5, 0.1, false, false).named_buffers().empty());
  std::ostringstream ln, gn, in, rms;
  ln << LayerNorm({4});
  gn << GroupNorm(2, 6);
  in << InstanceNorm2d(3);
  rms << RMSNorm({2, 3});
  CHECK(ln.str() == "LayerNorm((4,), eps=1e-05, elementwise_affine=true)");
  CHECK(gn.str() == "GroupNorm(2, 6, eps=1e-05, affine=true)");
  CHECK(in.str() == "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=false, track_running_stats=false)");
  CHECK(rms.str() == "RMSNorm((2, 3), eps=None, elementwise_affine=true)");
  CHECK(InstanceNorm2d(3).named_parameters().empty());

  Sequential net(std::make_shared<Conv2d>(1, 4, 3, 1, 1), std::make_shared<BatchNorm2d>(4),
                 std::make_shared<ReLU>(), std::make_shared<GroupNorm>(2, 4), std::make_shared<Flatten>(),
                 std::make_shared<LayerNorm>(std::vector<std::int64_t>{64}), std::make_shared<RMSNorm>(std::vector<std::int64_t>{64}));
  net.train();
  const ModelSummary s = summary(net, {2, 1, 4, 4});
  REQUIRE(s.rows.size() == 7);
  CHECK(s.rows[1].path == "1");
  CHECK(s.rows[1].type == "BatchNorm2d");
  CHECK(s.rows[1].output_shape == Shape{2, 4, 4, 4});
  CHECK(s.rows[1].parameters == 8);
  CHECK(s.rows[3].type == "GroupNorm");
  CHECK(s.rows[3].parameters == 8);
  CHECK(s.rows[5].type == "LayerNorm");
  CHECK(s.rows[5].parameters == 128);
  CHECK(s.rows[6].type == "RMSNorm");
  CHECK(s.rows[6].parameters == 64);
  CHECK(s.total_parameters == 40 + 8 + 8 + 128 + 64);
  // summary runs in eval mode and leaves the training flag and the running stats as they were.
  CHECK(net.is_training());
  auto bn_in_net = std::dynamic_pointer_cast<BatchNorm2d>(net.named_children()[1].second);
  CHECK(bn_in_net->num_batches_tracked.item<std::int64_t>() == 0);
  CHECK(bn_in_net->running_mean.to_vector() == V{0, 0, 0, 0});
}

TEST_CASE("normalisation layers: checkpoint and safetensors round trips keep parameters and running stats",
          "[nn][norm][checkpoint]") {
  testing::TempDir dir;
  auto make = [] {
    return std::make_shared<Sequential>(std::make_shared<Conv2d>(1, 2, 3), std::make_shared<BatchNorm2d>(2),
                                        std::make_shared<InstanceNorm2d>(2, 1e-5, 0.1, true, true));
  };
  manual_seed(3);
  auto trained = make();
  for (int step = 0; step < 3; ++step) (*trained)(randn({2, 1, 5, 5}));
  {
    NoGradGuard no_grad;
    for (auto [n, p] : trained->named_parameters()) p.copy_(randn(p.shape()));
  }
  trained->eval();
  const Tensor x = randn({1, 1, 5, 5});
  const std::vector<double> expected = (*trained)(x).to_vector();

  std::vector<std::string> names;
  for (const auto& [n, t] : trained->named_buffers()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"1.running_mean", "1.running_var", "1.num_batches_tracked",
                                          "2.running_mean", "2.running_var", "2.num_batches_tracked"});

  save(*trained, dir.file("bn.tgck"));
  auto loaded = make();
  load(*loaded, dir.file("bn.tgck"));
  loaded->eval();
  CHECK((*loaded)(x).to_vector() == expected);
  CHECK(named(loaded->named_buffers(), "1.num_batches_tracked").item<std::int64_t>() == 3);

  io::save_safetensors(*trained, dir.file("bn.safetensors"));
  auto from_safetensors = make();
  const io::LoadReport report = io::load_safetensors(*from_safetensors, dir.file("bn.safetensors"));
  CHECK(report.missing.empty());
  CHECK(report.unexpected.empty());
  from_safetensors->eval();
  CHECK((*from_safetensors)(x).to_vector() == expected);
  CHECK(named(from_safetensors->named_buffers(), "1.running_var").to_vector() ==
        named(trained->named_buffers(), "1.running_var").to_vector());
}

TEST_CASE("normalisation layers: errors name the module path and the shapes", "[nn][norm][errors]") {
  Sequential net(std::make_shared<Linear>(3, 4), std::make_shared<BatchNorm1d>(5));
  CHECK_THROWS_WITH(net(ones({2, 3})), Contains("Sequential[1] BatchNorm1d") && Contains("input has 4 channels, expected 5") &&
                                           Contains("[2,4]"));
  BatchNorm1d bn1(3);
  CHECK_THROWS_WITH(bn1(ones({2, 3, 2, 2})), Contains("BatchNorm1d") && Contains("[N, C] or [N, C, L]") &&
                                                 Contains("[2,3,2,2]"));
  BatchNorm2d bn2(3);
  CHECK_THROWS_WITH(bn2(ones({2, 3, 4})), Contains("BatchNorm2d") && Contains("[N, C, H, W]") && Contains("[2,3,4]"));
  // One value per channel in training mode: refused, and not counted.
  CHECK_THROWS_WITH(bn2(ones({1, 3, 1, 1})), Contains("more than 1 value per channel") && Contains("[1,3,1,1]"));
  CHECK(bn2.num_batches_tracked.item<std::int64_t>() == 0);
  bn2.eval();
  CHECK(bn2(ones({1, 3, 1, 1})).shape() == Shape{1, 3, 1, 1});  // eval mode is fine with one value
  CHECK_THROWS_WITH(LayerNorm({4})(ones({2, 3})), Contains("LayerNorm") && Contains("[*, 4]") && Contains("[2,3]"));
  CHECK_THROWS_WITH(GroupNorm(2, 4)(ones({2, 6, 3})), Contains("GroupNorm") && Contains("input has 6 channels, expected 4"));
  CHECK_THROWS_WITH(GroupNorm(2, 5), Contains("GroupNorm") && Contains("divisible"));
  CHECK_THROWS_WITH(InstanceNorm2d(3)(ones({2, 3})), Contains("InstanceNorm2d") && Contains("[C, H, W]") && Contains("[2,3]"));
  CHECK_THROWS_WITH(InstanceNorm2d(3, 1e-5, 0.1, true)(ones({1, 2, 2, 2})), Contains("input has 2 channels, expected 3"));
  CHECK(InstanceNorm2d(3)(randn({1, 2, 2, 2})).shape() == Shape{1, 2, 2, 2});  // no parameters: PyTorch only warns
  CHECK_THROWS_WITH(RMSNorm({3})(ones({3, 4})), Contains("RMSNorm") && Contains("[*, 3]") && Contains("[3,4]"));
  CHECK_THROWS_WITH(BatchNorm2d(0), Contains("BatchNorm2d") && Contains("num_features"));
  CHECK_THROWS_WITH(BatchNorm2d(2, 1e-5, 1.5), Contains("momentum"));
  CHECK_THROWS_WITH(LayerNorm({}), Contains("LayerNorm") && Contains("normalized_shape"));
  BatchNorm2d f64(2);
  f64.to(kFloat64);
  CHECK_THROWS_WITH(f64(ones({2, 2, 2, 2})), Contains("running_mean") && Contains("float64") && Contains("float32"));
}
