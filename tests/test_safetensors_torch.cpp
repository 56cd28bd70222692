// Weights trained by PyTorch, loaded by tapegrad: the same logits.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <tapegrad/tapegrad.hpp>

#include "common/lenet5_model.hpp"

using namespace tg;
namespace fs = std::filesystem;

// ---- PyTorch's LeNet-5 ----------------------------------------------------------------------
// tests/data/lenet5_torch.safetensors holds the state_dict of a PyTorch LeNet-5
// trained briefly on MNIST, and tests/data/lenet5_torch_logits.safetensors 16
// MNIST test images and PyTorch's logits for them; both are written by
// tests/torch_reference/safetensors_roundtrip.py make-reference. No PyTorch is
// needed here.
TEST_CASE("safetensors: weights trained by PyTorch give PyTorch's logits", "[safetensors][torch_reference]") {
  const fs::path data = fs::path(TAPEGRAD_SOURCE_DIR) / "tests" / "data";
  auto model = examples::lenet5();
  const io::LoadReport report = io::load_safetensors(*model, (data / "lenet5_torch.safetensors").string());
  CHECK(report.complete());
  const io::SafetensorsFile reference = io::read_safetensors((data / "lenet5_torch_logits.safetensors").string());
  const Tensor images = reference.at("images"), expected = reference.at("logits");
  REQUIRE(images.shape() == Shape{16, 1, 28, 28});
  model->eval();
  NoGradGuard no_grad;
  const Tensor logits = (*model)(images);
  REQUIRE(logits.shape() == expected.shape());
  const std::vector<float> got = logits.to_vector<float>(), want = expected.to_vector<float>();
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(double(got[i]) - double(want[i])));
  INFO("largest difference " << worst);
  CHECK(worst <= 1e-5);
  // The network learned something: most of the 16 images are classified right.
  const std::vector<std::int64_t> labels = reference.at("labels").to_vector<std::int64_t>();
  const std::vector<std::int64_t> predicted = argmax(logits, 1).to_vector<std::int64_t>();
  int right = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) right += labels[i] == predicted[i];
  CHECK(right >= 12);
}
