// tg::nn::Sequential: children named by position, forward in order.
#include <string>
#include <typeinfo>

#include "core/dispatch.hpp"
#include <tapegrad/nn/sequential.hpp>

namespace tg::nn {

Sequential::Sequential(std::initializer_list<ModulePtr> modules) {
  for (const ModulePtr& m : modules) add(m);
}

Sequential::Sequential(const std::vector<ModulePtr>& modules) {
  for (const ModulePtr& m : modules) add(m);
}

Sequential& Sequential::add(ModulePtr module) {
  // register_module refuses null modules with a message naming this Sequential.
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
  return *this;
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (const ModulePtr& m : modules_) x = (*m)(x);
  return x;
}

const ModulePtr& Sequential::operator[](std::size_t i) const {
  if (i >= modules_.size())
    tg::detail::fail("Sequential[", i, "]: index out of range for a Sequential of ", modules_.size(), " modules");
  return modules_[i];
}

void Sequential::wrong_type(std::size_t i) const {
  tg::detail::fail("Sequential::at(", i, "): module ", i, " is a ", modules_[i]->type_name(),
                   ", not the requested type");
}

}  // namespace tg::nn
