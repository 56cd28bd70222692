// The losses of <tapegrad/nn/loss.hpp> added with label smoothing, class weights
// and ignore_index, and nn::Embedding: against PyTorch's values and gradients in
// tests/data/losses_embedding_reference.txt (written by
// tests/torch_reference/losses_embedding.py, never run here), plus the
// identities, modules and errors PyTorch's file cannot show.
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"
#include "torch_reference_file.hpp"

using namespace tg;
namespace F = tg::nn::functional;

namespace {

using Vs = const std::vector<Tensor>&;
using Case = testing::ReferenceCase;

Reduction reduction_named(const std::string& r) {
  if (r == "mean") return Reduction::Mean;
  if (r == "sum") return Reduction::Sum;
  if (r == "batchmean") return Reduction::BatchMean;
  REQUIRE(r == "none");
  return Reduction::None;
}

F::CrossEntropyOptions ce(Reduction r, const Tensor& weight = Tensor(), std::int64_t ignore_index = -100,
                          double label_smoothing = 0) {
  return F::CrossEntropyOptions{r, weight, ignore_index, label_smoothing};
}

// The same names, and the same calls, as CASES in tests/torch_reference/losses_embedding.py.
const std::map<std::string, Case>& loss_cases() {
  static const std::map<std::string, Case> all = [] {
    std::map<std::string, Case> c;
    for (const std::string r : {"mean", "sum", "none"}) {
      const Reduction red = reduction_named(r);
      c["bce_logits_" + r] = [red](Vs v) { return F::binary_cross_entropy_with_logits(v[0], v[1], {}, red); };
      c["l1_" + r] = [red](Vs v) { return F::l1_loss(v[0], v[0].detach() + v[1], red); };
      c["ce_weight_" + r] = [red](Vs v) { return F::cross_entropy(v[0], v[1], ce(red, v[2])); };
      c["ce_ignore_" + r] = [red](Vs v) { return F::cross_entropy(v[0], v[1], ce(red)); };
      c["ce_smoothing_weight_ignore_" + r] = [red](Vs v) { return F::cross_entropy(v[0], v[1], ce(red, v[2], 0, 0.1)); };
    }
    for (const std::string r : {"mean", "sum", "none", "batchmean"}) {
      const Reduction red = reduction_named(r);
      c["kl_div_" + r] = [red](Vs v) { return F::kl_div(log_softmax(v[0], 1), v[1], red); };
      c["kl_div_log_target_" + r] = [red](Vs v) {
        return F::kl_div(log_softmax(v[0], 1), log_softmax(v[1], 1), red, true);
      };
    }
    c["bce_logits_large"] = [](Vs v) { return F::binary_cross_entropy_with_logits(v[0], v[1], {}, Reduction::None); };
    c["bce_logits_large_float32"] = [](Vs v) {
      return F::binary_cross_entropy_with_logits(v[0], v[1], {}, Reduction::Sum);
    };
    c["bce_logits_weight_pos_weight"] = [](Vs v) {
      return F::binary_cross_entropy_with_logits(v[0], v[1], v[2], Reduction::Mean, v[3]);
    };
    c["bce_logits_pos_weight_large"] = [](Vs v) {
      return F::binary_cross_entropy_with_logits(v[0], v[1], {}, Reduction::None, v[2]);
    };
    c["bce_logits_shapes_differ"] = [](Vs v) { return F::binary_cross_entropy_with_logits(v[0], v[1]); };
    c["l1_float32"] = [](Vs v) { return F::l1_loss(v[0], v[0].detach() + v[1]); };
    c["l1_target_grad"] = [](Vs v) { return F::l1_loss(v[0], v[1]); };
    c["smooth_l1"] = [](Vs v) { return F::smooth_l1_loss(v[0], v[0].detach() + v[1], Reduction::None); };
    c["smooth_l1_mean_beta_0.5"] = [](Vs v) {
      return F::smooth_l1_loss(v[0], v[0].detach() + v[1], Reduction::Mean, 0.5);
    };
    c["smooth_l1_sum_beta_2"] = [](Vs v) { return F::smooth_l1_loss(v[0], v[0].detach() + v[1], Reduction::Sum, 2.0); };
    c["smooth_l1_beta_0"] = [](Vs v) { return F::smooth_l1_loss(v[0], v[0].detach() + v[1], Reduction::None, 0.0); };
    c["smooth_l1_beta_0_mean"] = [](Vs v) {
      return F::smooth_l1_loss(v[0], v[0].detach() + v[1], Reduction::Mean, 0.0);
    };
    c["smooth_l1_target_grad"] = [](Vs v) { return F::smooth_l1_loss(v[0], v[1]); };
    c["smooth_l1_negative_beta"] = [](Vs v) { return F::smooth_l1_loss(v[0], v[1], Reduction::Mean, -1.0); };
    c["huber"] = [](Vs v) { return F::huber_loss(v[0], v[0].detach() + v[1], Reduction::None); };
    c["huber_mean"] = [](Vs v) { return F::huber_loss(v[0], v[0].detach() + v[1]); };
    c["huber_sum_delta_0.5"] = [](Vs v) { return F::huber_loss(v[0], v[0].detach() + v[1], Reduction::Sum, 0.5); };
    c["huber_float32_delta_2"] = [](Vs v) {
      return F::huber_loss(v[0], v[0].detach() + v[1], Reduction::None, 2.0);
    };
    c["huber_target_grad"] = [](Vs v) { return F::huber_loss(v[0], v[1], Reduction::Mean, 0.75); };
    c["kl_div_zero_targets"] = [](Vs v) { return F::kl_div(log_softmax(v[0], 1), v[1], Reduction::BatchMean); };
    c["kl_div_float32"] = [](Vs v) { return F::kl_div(log_softmax(v[0], 1), v[1], Reduction::BatchMean); };
    c["kl_div_3d_batchmean"] = [](Vs v) { return F::kl_div(v[0], v[1], Reduction::BatchMean); };
    c["ce_plain"] = [](Vs v) { return F::cross_entropy(v[0], v[1]); };
    c["ce_ignore_all_but_one"] = [](Vs v) { return F::cross_entropy(v[0], v[1], ce(Reduction::Mean)); };
    c["ce_ignore_all_but_one_weight_smoothing"] = [](Vs v) {
      return F::cross_entropy(v[0], v[1], ce(Reduction::Mean, v[2], 1, 0.1));
    };
    c["ce_smoothing_0.1"] = [](Vs v) { return F::cross_entropy(v[0], v[1], ce(Reduction::Mean, {}, -100, 0.1)); };
    c["ce_smoothing_0.1_weight"] = [](Vs v) {
      return F::cross_entropy(v[0], v[1], ce(Reduction::Mean, v[2], -100, 0.1));
    };
    c["ce_smoothing_1"] = [](Vs v) { return F::cross_entropy(v[0], v[1], ce(Reduction::Mean, {}, -100, 1.0)); };
    c["ce_smoothing_float32_weight"] = [](Vs v) {
      return F::cross_entropy(v[0], v[1], ce(Reduction::Mean, v[2], -100, 0.25));
    };
    c["ce_large_logits_smoothing_weight"] = [](Vs v) {
      return F::cross_entropy(v[0], v[1], ce(Reduction::Mean, v[2], -100, 0.1));
    };
    c["ce_ignore_index_valid_class"] = [](Vs v) { return F::cross_entropy(v[0], v[1], ce(Reduction::Sum, {}, 3)); };
    c["ce_probabilities"] = [](Vs v) { return F::cross_entropy(v[0], v[1], ce(Reduction::Mean)); };
    c["ce_probabilities_weight_smoothing"] = [](Vs v) {
      return F::cross_entropy(v[0], v[1], ce(Reduction::Mean, v[2], -100, 0.2));
    };
    c["ce_probabilities_none"] = [](Vs v) { return F::cross_entropy(v[0], v[1], ce(Reduction::None)); };
    c["ce_smoothing_above_1"] = [](Vs v) { return F::cross_entropy(v[0], v[1], ce(Reduction::Mean, {}, -100, 1.5)); };
    c["ce_weight_wrong_length"] = [](Vs v) { return F::cross_entropy(v[0], v[1], ce(Reduction::Mean, v[2])); };
    c["ce_target_out_of_range"] = [](Vs v) { return F::cross_entropy(v[0], v[1], ce(Reduction::Mean)); };
    for (const char* name : {"embedding", "embedding_1d", "embedding_0d", "embedding_3d_indices",
                             "embedding_index_out_of_range"})
      c[name] = [](Vs v) { return F::embedding(v[0], v[1]); };
    c["embedding_padding_idx"] = [](Vs v) { return F::embedding(v[0], v[1], 0); };
    c["embedding_padding_idx_negative"] = [](Vs v) { return F::embedding(v[0], v[1], -1); };
    c["embedding_max_norm"] = [](Vs v) { return F::embedding(v[0], v[1], std::nullopt, 1.0); };
    c["embedding_max_norm_1_norm"] = [](Vs v) { return F::embedding(v[0], v[1], std::nullopt, 1.5, 1.0); };
    c["embedding_max_norm_padding_float32"] = [](Vs v) { return F::embedding(v[0], v[1], 4, 0.75); };
    return c;
  }();
  return all;
}

// The losses are compositions of logs, exps and sums in another order than
// PyTorch's kernels: agreement to 1e-10 relative in float64 (the issue asks for
// 1e-5) and 1e-5 in float32, with a small absolute floor for values near 0.
testing::Tolerance loss_tolerance(const std::string&, Dtype dtype, const std::string&) {
  return dtype == kFloat32 ? testing::Tolerance{1e-5, 1e-6} : testing::Tolerance{1e-10, 1e-13};
}

}  // namespace

TEST_CASE("losses and embedding agree with PyTorch: values, gradients, in-place renorm", "[nn][loss][torch_reference]") {
  testing::check_against_pytorch("tests/data/losses_embedding_reference.txt", loss_cases(), loss_tolerance);
}

TEST_CASE("loss identities: smooth_l1 with beta 0 is l1, huber is delta * smooth_l1(beta = delta)", "[nn][loss]") {
  manual_seed(3);
  const Tensor x = randn({4, 5}, kFloat64), y = randn({4, 5}, kFloat64) * 2.0;
  CHECK(F::smooth_l1_loss(x, y, Reduction::None, 0.0).to_vector() == F::l1_loss(x, y, Reduction::None).to_vector());
  // Also the gradient where input = target: l1's 0 (PyTorch 1.13's smooth_l1 backward gives -1 there).
  Tensor at = tensor({0.5, -1, 2}, {3}, kFloat64).requires_grad_();
  F::smooth_l1_loss(at, tensor({0.5, 0, 2}, {3}, kFloat64), Reduction::Sum, 0.0).backward();
  CHECK(at.grad().to_vector() == std::vector<double>{0, -1, 0});
  for (double delta : {0.25, 1.0, 3.0}) {
    INFO("delta " << delta);
    const std::vector<double> h = F::huber_loss(x, y, Reduction::None, delta).to_vector();
    const std::vector<double> s = (F::smooth_l1_loss(x, y, Reduction::None, delta) * delta).to_vector();
    for (std::size_t i = 0; i < h.size(); ++i) CHECK(h[i] == Approx(s[i]).epsilon(1e-14));
  }
  // A wide beta makes smooth_l1 the halved squared error over beta.
  CHECK(F::smooth_l1_loss(x, y, Reduction::Mean, 100.0).item() == Approx(F::mse_loss(x, y).item() / 200.0));
}

TEST_CASE("binary_cross_entropy_with_logits equals binary_cross_entropy of sigmoid, and stays finite at |x| = 1000",
          "[nn][loss]") {
  const Tensor x = tensor({-3, -0.5, 0, 0.25, 2, 4}, {3, 2}, kFloat64);
  const Tensor y = tensor({0, 1, 0.5, 0.25, 1, 0}, {3, 2}, kFloat64);
  CHECK(F::binary_cross_entropy_with_logits(x, y).item() == Approx(binary_cross_entropy(sigmoid(x), y).item()).epsilon(1e-13));
  // pos_weight 1 and weight 1 change nothing.
  CHECK(F::binary_cross_entropy_with_logits(x, y, ones({3, 2}, kFloat64), Reduction::Sum, ones({2}, kFloat64)).item() ==
        Approx(F::binary_cross_entropy_with_logits(x, y, {}, Reduction::Sum).item()).epsilon(1e-14));

  Tensor big = tensor({-1000, 1000, -1000, 1000}, {4}).requires_grad_();
  const Tensor labels = tensor({0, 1, 1, 0}, {4});
  const Tensor l = F::binary_cross_entropy_with_logits(big, labels, {}, Reduction::None, tensor({3.0}));
  CHECK(l.to_vector() == std::vector<double>{0, 0, 3000, 1000});  // pos_weight 3 scales the positive term
  sum(l).backward();
  CHECK(big.grad().to_vector() == std::vector<double>{0, 0, -3, 1});
}

TEST_CASE("cross_entropy options: defaults give the plain loss; ignored samples get no gradient", "[nn][loss]") {
  manual_seed(5);
  const Tensor logits = randn({6, 4}, kFloat64);
  const Tensor t = tensor_i64({0, 3, 1, 1, 2, 0}, {6});
  CHECK(F::cross_entropy(logits, t, F::CrossEntropyOptions{}).item() == F::cross_entropy(logits, t).item());
  // Weights all 2: the weighted mean is unchanged; uniform weights and sum double the loss.
  const Tensor twos = full({4}, 2.0, kFloat64);
  CHECK(F::cross_entropy(logits, t, ce(Reduction::Mean, twos)).item() == Approx(F::cross_entropy(logits, t).item()));
  CHECK(F::cross_entropy(logits, t, ce(Reduction::Sum, twos)).item() ==
        Approx(2 * F::cross_entropy(logits, t, Reduction::Sum).item()));
  // Ignoring samples is the mean over the others.
  Tensor x = logits.detach().requires_grad_();
  const Tensor ignored = tensor_i64({0, -1, 1, -1, 2, 0}, {6});
  const Tensor loss = F::cross_entropy(x, ignored, ce(Reduction::Mean, {}, -1, 0.3));
  const Tensor kept = index_select(logits, 0, tensor_i64({0, 2, 4, 5}, {4}));
  CHECK(loss.item() ==
        Approx(F::cross_entropy(kept, tensor_i64({0, 1, 2, 0}, {4}), ce(Reduction::Mean, {}, -100, 0.3)).item()));
  loss.backward();
  const std::vector<double> g = x.grad().to_vector();
  for (int c = 0; c < 4; ++c) {
    CHECK(g[1 * 4 + c] == 0.0);
    CHECK(g[3 * 4 + c] == 0.0);
  }
  // The module form carries every option.
  nn::CrossEntropyLoss module{Reduction::Mean, twos, -1, 0.3};
  CHECK(module(logits, ignored).item() == Approx(loss.item()).epsilon(1e-15));
  nn::CrossEntropyLoss summed{Reduction::Sum};  // the aggregate form of before still compiles
  CHECK(summed(logits, t).item() == Approx(F::cross_entropy(logits, t, Reduction::Sum).item()));
}

TEST_CASE("loss modules call their functionals with their settings", "[nn][loss]") {
  manual_seed(6);
  const Tensor x = randn({3, 4}, kFloat64), y = randn({3, 4}, kFloat64);
  CHECK(nn::L1Loss{Reduction::Sum}(x, y).item() == F::l1_loss(x, y, Reduction::Sum).item());
  CHECK(nn::SmoothL1Loss{Reduction::Mean, 0.5}(x, y).item() == F::smooth_l1_loss(x, y, Reduction::Mean, 0.5).item());
  CHECK(nn::HuberLoss{Reduction::Mean, 2.0}(x, y).item() == F::huber_loss(x, y, Reduction::Mean, 2.0).item());
  const Tensor p = softmax(y, 1);
  CHECK(nn::KLDivLoss{Reduction::BatchMean}(log_softmax(x, 1), p).item() ==
        F::kl_div(log_softmax(x, 1), p, Reduction::BatchMean).item());
  CHECK(nn::KLDivLoss{Reduction::Sum, true}(log_softmax(x, 1), log(p)).item() ==
        Approx(F::kl_div(log_softmax(x, 1), p, Reduction::Sum).item()).epsilon(1e-13));
  const Tensor pw = tensor({1, 2, 3, 4}, {4}, kFloat64);
  CHECK(nn::BCEWithLogitsLoss{Reduction::Mean, {}, pw}(x, sigmoid(y)).item() ==
        F::binary_cross_entropy_with_logits(x, sigmoid(y), {}, Reduction::Mean, pw).item());
  // KL of a distribution from itself is 0.
  CHECK(F::kl_div(log(p), p, Reduction::Sum).item() == Approx(0.0).margin(1e-15));
}

TEST_CASE("Reduction::BatchMean is refused by every loss but kl_div", "[nn][loss]") {
  const Tensor x = ones({2, 3}), y = ones({2, 3});
  const std::string only = "Reduction::BatchMean is only for kl_div";
  CHECK_THROWS_WITH(F::mse_loss(x, y, Reduction::BatchMean), Catch::Contains("mse_loss: " + only));
  CHECK_THROWS_WITH(F::l1_loss(x, y, Reduction::BatchMean), Catch::Contains("l1_loss: " + only));
  CHECK_THROWS_WITH(F::huber_loss(x, y, Reduction::BatchMean), Catch::Contains("huber_loss: " + only));
  CHECK_THROWS_WITH(F::smooth_l1_loss(x, y, Reduction::BatchMean), Catch::Contains("smooth_l1_loss: " + only));
  CHECK_THROWS_WITH(F::binary_cross_entropy_with_logits(x, y, {}, Reduction::BatchMean),
                    Catch::Contains("binary_cross_entropy_with_logits: " + only));
  CHECK_THROWS_WITH(F::cross_entropy(x, tensor_i64({0, 1}, {2}), Reduction::BatchMean),
                    Catch::Contains("cross_entropy: " + only));
  CHECK_THROWS_WITH(F::hinge_loss(x, y, Reduction::BatchMean), Catch::Contains("hinge_loss: " + only));
}

TEST_CASE("Embedding: weight ~ N(0, 1), padding row zero and never trained, any index shape", "[nn][embedding]") {
  manual_seed(7);
  nn::Embedding big(400, 50);
  REQUIRE(big.named_parameters().size() == 1);
  CHECK(big.named_parameters()[0].first == "weight");
  CHECK(big.weight.shape() == Shape{400, 50});
  CHECK(mean(big.weight).item() == Approx(0.0).margin(0.02));  // 20000 draws: sd of the mean 0.007
  CHECK(tg::std(big.weight).item() == Approx(1.0).epsilon(0.02));

  auto emb = std::make_shared<nn::Embedding>(6, 3, -2);  // padding row 4
  CHECK(emb->padding_idx() == std::optional<std::int64_t>(4));
  CHECK(narrow(emb->weight, 0, 4, 1).to_vector() == std::vector<double>{0, 0, 0});
  const Tensor idx = tensor_i64({4, 1, 1, 4, 5, 0, 1, 4}, {2, 2, 2});
  const Tensor out = (*emb)(idx);
  CHECK(out.shape() == Shape{2, 2, 2, 3});
  CHECK(narrow(reshape(out, {8, 3}), 0, 1, 1).to_vector() == narrow(emb->weight, 0, 1, 1).to_vector());
  sum(out * 2.0).backward();
  const std::vector<double> g = emb->weight.grad().to_vector();
  const std::vector<double> counts = {1, 3, 0, 0, 0, 1};  // look-ups per row; row 4's three give nothing
  for (int r = 0; r < 6; ++r)
    for (int j = 0; j < 3; ++j) CHECK(g[r * 3 + j] == 2 * counts[r]);

  // A padding row given non-zero values keeps them in the output, still without a gradient.
  Tensor w = tensor({1, 2, 3, 4}, {2, 2}, kFloat64).requires_grad_();
  const Tensor o = F::embedding(tensor_i64({0, 1}, {2}), w, 1);
  CHECK(o.to_vector() == std::vector<double>{1, 2, 3, 4});
  sum(o).backward();
  const std::vector<double> got = w.grad().to_vector();
  CHECK(got[0] == 1.0);
  CHECK(got[1] == 1.0);
  CHECK(got[2] == 0.0);
  CHECK(got[3] == 0.0);
}

TEST_CASE("Embedding max_norm renormalises the looked-up rows in place, once each", "[nn][embedding]") {
  nn::Embedding emb(3, 2, std::nullopt, 1.0);
  {
    NoGradGuard no_grad;
    emb.weight.copy_(tensor({3, 4, 0.3, 0.4, 6, 8}, {3, 2}));
  }
  const std::uint64_t version = emb.weight.version();
  const Tensor out = emb(tensor_i64({0, 0, 1}, {3}));
  CHECK(emb.weight.version() > version);
  const std::vector<double> w = emb.weight.to_vector();
  CHECK(w[0] == Approx(0.6).epsilon(1e-6));  // row 0: norm 5 -> 1 (scaled once although looked up twice)
  CHECK(w[1] == Approx(0.8).epsilon(1e-6));
  CHECK(w[2] == 0.3f);  // row 1: norm 0.5, kept
  CHECK(w[4] == 6.0f);  // row 2: not looked up, kept
  CHECK(out.to_vector()[0] == w[0]);
}

TEST_CASE("Embedding errors name the module path, the index and the shapes", "[nn][embedding]") {
  nn::Sequential net(std::make_shared<nn::Embedding>(10, 4), std::make_shared<nn::Flatten>(),
                     std::make_shared<nn::Linear>(12, 2));
  CHECK_THROWS_WITH(net(tensor_i64({1, 2, 3, 4, 12, 5}, {2, 3})),
                    Catch::Contains("Sequential[0] Embedding(10x4): embedding: index 12 at position 4 is out of range "
                                    "for 10 embeddings (indices [2,3], weight [10,4])"));
  CHECK_THROWS_WITH(net(ones({2, 3})), Catch::Contains("Sequential[0] Embedding(10x4): embedding: indices must be int64"));
  CHECK_THROWS_WITH(nn::Embedding(10, 4, 10), Catch::Contains("Embedding: padding_idx 10 is out of range for 10 embeddings"));
  CHECK_THROWS_WITH(nn::Embedding(0, 4), Catch::Contains("Embedding: num_embeddings and embedding_dim must be positive"));
  CHECK_THROWS_WITH(nn::Embedding(3, 4, std::nullopt, -1.0), Catch::Contains("Embedding: max_norm must be positive"));
}

TEST_CASE("Embedding: module gradcheck, summary row, printout and checkpoint round trip", "[nn][embedding]") {
  manual_seed(8);
  auto make = [] {
    return std::make_shared<nn::Sequential>(std::make_shared<nn::Embedding>(7, 3, 2), std::make_shared<nn::Flatten>(),
                                            std::make_shared<nn::Linear>(6, 2));
  };
  auto net = make();
  net->to(kFloat64);
  // No look-up of the padding row 2 here: its gradient is 0 by design, not the derivative.
  const Tensor idx = tensor_i64({1, 6, 0, 3}, {2, 2});
  const GradcheckResult r = nn::gradcheck_module(*net, idx);
  INFO(r.message);
  CHECK(r.passed);

  const nn::ModelSummary s = nn::summary(*net, {5, 2}, kInt64);
  REQUIRE(s.rows.size() == 3);
  CHECK(s.rows[0].type == "Embedding");
  CHECK(s.rows[0].parameters == 21);
  CHECK(s.rows[0].output_shape == Shape{5, 2, 3});
  std::ostringstream printed;
  printed << *net;
  CHECK_THAT(printed.str(), Catch::Contains("Embedding(7, 3, padding_idx=2)"));

  testing::TempDir dir;
  const std::string path = (dir.path / "embedding.tgc").string();
  save(net, path);
  auto other = make();
  other->to(kFloat64);
  load(other, path);
  CHECK((*other)(idx).to_vector() == (*net)(idx).to_vector());
}
