// tapegrad — tg::nn::Sequential, a chain of modules.
//
// @code
//   auto net = std::make_shared<tg::nn::Sequential>(
//       std::make_shared<tg::nn::Linear>(2, 16), std::make_shared<tg::nn::ReLU>(),
//       std::make_shared<tg::nn::Linear>(16, 1), std::make_shared<tg::nn::Sigmoid>());
//   net->add(std::make_shared<tg::nn::Dropout>(0.1));
//   tg::Tensor p = (*net)(tg::randn({8, 2}));   // [8,1], in (0, 1)
// @endcode
//
// Children are named "0", "1", ... so parameters are "0.weight", "2.bias", and
// an error in child 7 reads "Sequential[7] Linear(196->8): ...".
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <type_traits>
#include <vector>

#include <tapegrad/nn/module.hpp>

namespace tg::nn {

/// A chain of modules run in order; child i is registered under the name "i".
class Sequential : public Module {
 public:
  /// An empty chain (the identity) to add() to.
  Sequential() = default;
  /// The given modules in order; a null module throws std::invalid_argument.
  ///@{
  Sequential(std::initializer_list<ModulePtr> modules);
  explicit Sequential(const std::vector<ModulePtr>& modules);
  ///@}
  /// Sequential(m1, m2, ...) from shared_ptrs of any module types.
  template <class... Ms, class = std::enable_if_t<(sizeof...(Ms) > 0)>>
  explicit Sequential(std::shared_ptr<Ms>... modules) {
    (add(std::move(modules)), ...);
  }

  /// Feeds the input through every module in order (the identity when empty).
  Tensor forward(const Tensor& input) override;

  /// Appends a module (named by its position); returns *this for chaining.
  Sequential& add(ModulePtr module);
  /// Same as add().
  Sequential& push_back(ModulePtr module) { return add(std::move(module)); }
  /// The i-th module; throws std::invalid_argument when i >= size().
  const ModulePtr& operator[](std::size_t i) const;
  /// The i-th module as type M; throws when it is not an M.
  template <class M> std::shared_ptr<M> at(std::size_t i) const {
    auto typed = std::dynamic_pointer_cast<M>((*this)[i]);
    if (!typed) wrong_type(i);
    return typed;
  }
  /// Number of modules in the chain.
  std::size_t size() const { return modules_.size(); }
  /// True when the chain has no modules.
  bool empty() const { return modules_.empty(); }
  /// The modules in order, for range-for.
  ///@{
  std::vector<ModulePtr>::const_iterator begin() const { return modules_.begin(); }
  std::vector<ModulePtr>::const_iterator end() const { return modules_.end(); }
  ///@}

 private:
  [[noreturn]] void wrong_type(std::size_t i) const;
  std::vector<ModulePtr> modules_;
};

}  // namespace tg::nn
