// The trainers' recipes shared with the benchmark (examples/common/resnet_recipe.cpp,
// char_lm_model.cpp): the pieces the resnet and char_lm trainers and bench/tg_bench.cpp
// build their training steps from.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "common/char_lm_model.hpp"
#include "common/resnet_model.hpp"
#include "common/resnet_recipe.hpp"

using namespace tg;
using namespace tg::examples;
using Catch::Matchers::Contains;

namespace {

std::vector<float> values(const Tensor& t) { return t.detach().to(kFloat32).to_vector<float>(); }

// A [1, H, W] image mirrored left-right.
std::vector<float> mirrored(const Tensor& image) {
  const std::vector<float> v = values(image);
  const std::int64_t h = image.size(1), w = image.size(2);
  std::vector<float> out(v.size());
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x) out[y * w + x] = v[y * w + (w - 1 - x)];
  return out;
}

}  // namespace

TEST_CASE("char_lm: warm-up, then a cosine to 5 % of the peak over the budget", "[recipes]") {
  CHECK(char_lm_default_lr("lstm") == 4e-3);
  CHECK(char_lm_default_lr("transformer") == 2e-3);
  CHECK(char_lm_learning_rate(4e-3, 0, 100, 0.0) == Approx(4e-5));
  CHECK(char_lm_learning_rate(4e-3, 49, 100, 0.9) == Approx(2e-3));  // warm-up ignores the budget
  CHECK(char_lm_learning_rate(4e-3, 99, 100, 0.0) == Approx(4e-3));
  CHECK(char_lm_learning_rate(4e-3, 100, 100, 0.0) == Approx(4e-3));
  CHECK(char_lm_learning_rate(4e-3, 500, 100, 0.5) == Approx(4e-3 * 0.525));
  CHECK(char_lm_learning_rate(4e-3, 900, 100, 1.0) == Approx(2e-4));
  CHECK(char_lm_learning_rate(1.0, 0, 0, 0.0) == Approx(1.0));  // no warm-up
}

TEST_CASE("char_lm: every tenth quotation is held out, each followed by a newline", "[recipes]") {
  std::vector<std::string> entries;
  for (int i = 0; i < 12; ++i) entries.push_back("q" + std::to_string(i));
  const FortunesSplit split = split_fortunes(entries);
  CHECK(split.val_text == "q0\nq10\n");
  CHECK(split.train_text == "q1\nq2\nq3\nq4\nq5\nq6\nq7\nq8\nq9\nq11\n");
}

TEST_CASE("char_lm: the networks have PyTorch's parameter names and sizes", "[recipes]") {
  const data::CharVocabulary vocab("abcdefghij");  // V = 10
  manual_seed(0);
  CharModel lstm("lstm", vocab, 64, 0.0);
  std::vector<std::string> names;
  for (const auto& [name, p] : lstm.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"embed.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0",
                                          "lstm.bias_hh_l0", "lstm.weight_ih_l1", "lstm.weight_hh_l1",
                                          "lstm.bias_ih_l1", "lstm.bias_hh_l1", "head.weight", "head.bias"});
  // 10*64 + (4*256*(64+256) + 2*4*256) + (4*256*(256+256) + 2*4*256) + 256*10 + 10, as PyTorch's twin.
  CHECK(lstm.num_parameters() == 859274);
  CharModel transformer("transformer", vocab, 64, 0.0);
  // embedding 1280, positions 8192, 4 layers of 198272, final norm 256, head 1290.
  CHECK(transformer.num_parameters() == 804106);
  for (CharModel* m : {&lstm, &transformer}) {
    const Tensor logits = (*m)(randint(0, 10, {2, 5}));
    CHECK(logits.shape() == Shape{2, 5, 10});
    CHECK(m->vocab().symbols() == "abcdefghij");
  }
  CHECK_THROWS_WITH(CharModel("gru", vocab, 64, 0.0), Contains("\"lstm\" or \"transformer\", got \"gru\""));
}

TEST_CASE("char_lm: a training step returns the loss of the logits it computed, then updates", "[recipes]") {
  const data::CharVocabulary vocab("abcdefghij");
  manual_seed(1);
  CharModel model("lstm", vocab, 8, 0.0);
  optim::Adam adam(model.parameters(), optim::AdamOptions(1e-2));
  data::Batch batch{randint(0, 10, {4, 8}), randint(0, 10, {4, 8})};
  const std::vector<float> before = values(model.head->weight);
  const CharStep s = char_lm_step(model, adam, batch, 1.0, 0);
  CHECK_FALSE(s.logits.requires_grad());
  const double expected =
      nn::functional::cross_entropy(reshape(s.logits, {-1, 10}), reshape(batch.targets, {-1})).item<double>();
  CHECK(s.nats == Approx(expected).epsilon(1e-6));
  CHECK(s.nats == Approx(std::log(10.0)).epsilon(0.1));  // near uniform at initialisation
  const std::vector<float> after = values(model.head->weight);
  double moved = 0;
  for (std::size_t i = 0; i < after.size(); ++i) moved = std::max(moved, double(std::abs(after[i] - before[i])));
  CHECK(moved > 1e-3);
}

TEST_CASE("resnet: weight decay on conv and linear weights only, Nesterov momentum", "[recipes]") {
  manual_seed(0);
  auto model = resnet();
  const auto sgd = resnet_optimizer(*model, 0.2, 0.9, 5e-4);
  REQUIRE(sgd->num_groups() == 2);
  CHECK(sgd->group_parameters(0).size() == 10);  // 9 convolutions + the linear layer's weight
  CHECK(sgd->group_parameters(1).size() == 19);  // 9 batch norms' weight and bias + the linear bias
  // With zero gradients only weight decay moves a parameter: by lr * (1 + momentum) * wd * p
  // at the first Nesterov step, and not at all in the group without decay.
  std::vector<std::vector<float>> before;
  for (Tensor p : sgd->parameters()) {
    p.set_grad(zeros_like(p));
    before.push_back(values(p));
  }
  sgd->step();
  const std::vector<float> conv = values(sgd->group_parameters(0)[0]);
  for (std::size_t i = 0; i < conv.size(); ++i)
    REQUIRE(conv[i] == Approx(before[0][i] * (1 - 0.2 * 1.9 * 5e-4)).margin(1e-7));
  for (std::size_t i = 10; i < before.size(); ++i) CHECK(values(sgd->parameters()[i]) == before[i]);
}

TEST_CASE("resnet: the 1cycle schedule starts at peak / 25 and peaks after a quarter", "[recipes]") {
  manual_seed(0);
  auto model = resnet();
  const auto sgd = resnet_optimizer(*model, 0.2, 0.9, 5e-4);
  const auto schedule = resnet_schedule(*sgd, 0.2, 100);
  CHECK(sgd->lr() == Approx(0.008));
  for (int i = 0; i < 24; ++i) schedule->step();  // the first phase ends at step 0.25 * 100 - 1
  CHECK(sgd->lr() == Approx(0.2));
  CHECK(sgd->lr(1) == Approx(0.2));
}

TEST_CASE("resnet: cross-entropy with label smoothing", "[recipes]") {
  // logits [1, 0], label 1: -log p = log(1 + e), mean over classes of -log p_k = (log(1 + e) - 1 + log(1 + e)) / 2.
  const double nll = std::log(1 + std::exp(1.0)), uniform = (2 * nll - 1) / 2;
  const Tensor loss = resnet_loss(0.1)(tensor({1.0, 0.0}, {1, 2}), tensor_i64({1}, {1}));
  CHECK(loss.item<double>() == Approx(0.9 * nll + 0.1 * uniform).epsilon(1e-6));
}

TEST_CASE("resnet: augmentation without crops only mirrors, per example", "[recipes]") {
  manual_seed(0);
  const Tensor images = rand({8, 1, 28, 28});
  const auto train = std::make_shared<data::TensorDataset>(images, randint(0, 10, {8}));
  const auto augmented = resnet_augmented(train, 0, 3);
  REQUIRE(augmented->size() == 8);
  int flipped = 0;
  for (std::int64_t i = 0; i < 8; ++i) {
    const Tensor x = augmented->get(i).input, original = train->get(i).input;
    REQUIRE(x.shape() == Shape{1, 28, 28});
    if (values(x) == values(original)) continue;
    CHECK(values(x) == mirrored(original));
    ++flipped;
  }
  CHECK(flipped > 0);
  CHECK(flipped < 8);
  // With crops the image keeps its size.
  CHECK(resnet_augmented(train, 2, 3)->get(0).input.shape() == Shape{1, 28, 28});
}
