// Trains tapegrad's LeNet-5 for a few steps on the 16 MNIST images of the
// PyTorch reference and writes what tests/torch_reference/safetensors_roundtrip.py
// check reads:
//   OUT_DIR/lenet5_tapegrad.safetensors          the model (save_safetensors: PyTorch layout)
//   OUT_DIR/lenet5_tapegrad_logits.safetensors   the images and tapegrad's logits for them
// Usage: lenet5_to_safetensors REFERENCE_LOGITS.safetensors OUT_DIR
#include <cstdio>
#include <exception>
#include <string>

#include <tapegrad/tapegrad.hpp>

#include "common/lenet5_model.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: lenet5_to_safetensors REFERENCE_LOGITS.safetensors OUT_DIR\n");
    return 2;
  }
  try {
    using namespace tg;
    const io::SafetensorsFile reference = io::read_safetensors(argv[1]);
    const Tensor images = reference.at("images"), labels = reference.at("labels");
    manual_seed(7);
    auto model = examples::lenet5();
    optim::SGD sgd(model->parameters(), optim::SGDOptions(0.05).momentum(0.9));
    for (int step = 0; step < 20; ++step) {
      sgd.zero_grad();
      nn::functional::cross_entropy((*model)(images), labels).backward();
      sgd.step();
    }
    model->eval();
    Tensor logits;
    {
      NoGradGuard no_grad;
      logits = (*model)(images);
    }
    const std::string out = argv[2];
    io::save_safetensors(*model, out + "/lenet5_tapegrad.safetensors");
    io::write_safetensors(out + "/lenet5_tapegrad_logits.safetensors", {{"images", images}, {"logits", logits}});
    std::printf("wrote %s/lenet5_tapegrad.safetensors and lenet5_tapegrad_logits.safetensors\n", out.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lenet5_to_safetensors: %s\n", e.what());
    return 1;
  }
}
