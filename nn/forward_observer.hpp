// Private: lets nn::summary watch every module call without the modules
// knowing about it. Module::operator() reports each successful forward to the
// observer installed on this thread (none by default: one null check per call).
#pragma once

#include <tapegrad/nn/module.hpp>

namespace tg::nn::detail {

struct ForwardObserver {
  virtual ~ForwardObserver() = default;
  virtual void after_forward(const Module& module, const Tensor& output) = 0;
};

/// Installs `observer` for this thread for the guard's lifetime.
class ObserveForwards {
 public:
  explicit ObserveForwards(ForwardObserver* observer);
  ~ObserveForwards();
  ObserveForwards(const ObserveForwards&) = delete;
  ObserveForwards& operator=(const ObserveForwards&) = delete;

 private:
  ForwardObserver* previous_;
};

}  // namespace tg::nn::detail
