#include "common/resnet_recipe.hpp"

#include <algorithm>
#include <vector>

namespace tg::examples {

std::unique_ptr<optim::SGD> resnet_optimizer(nn::Module& model, double lr, double momentum, double weight_decay) {
  std::vector<Tensor> decayed, not_decayed;
  for (const auto& [name, p] : model.named_parameters()) (p.dim() > 1 ? decayed : not_decayed).push_back(p);
  return std::make_unique<optim::SGD>(
      std::vector<optim::ParamGroup>{optim::ParamGroup(decayed), optim::ParamGroup(not_decayed, {{"weight_decay", 0.0}})},
      optim::SGDOptions(lr).momentum(momentum).nesterov(momentum > 0).weight_decay(weight_decay));
}

std::unique_ptr<optim::OneCycleLR> resnet_schedule(optim::SGD& sgd, double lr, std::int64_t total_steps) {
  return std::make_unique<optim::OneCycleLR>(sgd, lr, std::max<std::int64_t>(1, total_steps),
                                             optim::OneCycleLROptions().pct_start(0.25));
}

nn::LossFunction resnet_loss(double label_smoothing) {
  const nn::functional::CrossEntropyOptions options(Reduction::Mean, Tensor(), -100, label_smoothing);
  return [options](const Tensor& out, const Tensor& y) { return nn::functional::cross_entropy(out, y, options); };
}

std::shared_ptr<const data::Dataset> resnet_augmented(std::shared_ptr<const data::Dataset> train,
                                                      std::int64_t crop_padding, std::uint64_t seed) {
  namespace T = data::transforms;
  std::vector<T::Transform> steps;
  if (crop_padding > 0) steps.push_back(T::random_crop(28, crop_padding));
  steps.push_back(T::random_horizontal_flip());
  return std::make_shared<T::TransformedDataset>(std::move(train), T::compose(steps), seed);
}

}  // namespace tg::examples
