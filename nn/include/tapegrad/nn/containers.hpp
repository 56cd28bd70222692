// tapegrad — module containers (tg::nn): Identity, ModuleList, ModuleDict.
//
// ModuleList holds modules by position and ModuleDict by name, as PyTorch's do:
// each is registered as a submodule, so its parameters are named "0.weight",
// "layers.1.bias" or "heads.cls.weight" in named_parameters(), nn::summary and
// checkpoints, exactly as PyTorch's state_dict names them. Neither runs a
// forward of its own: the owner decides how its members are called.
// @code
//   auto blocks = std::make_shared<tg::nn::ModuleList>();
//   for (int i = 0; i < 3; ++i) blocks->push_back(std::make_shared<tg::nn::Linear>(8, 8));
//   tg::Tensor h = tg::randn({2, 8});
//   for (const tg::nn::ModulePtr& block : *blocks) h = tg::relu((*block)(h));   // "0", "1", "2"
//
//   tg::nn::ModuleDict heads;
//   heads.insert("cls", std::make_shared<tg::nn::Linear>(8, 3));
//   heads.insert("reg", std::make_shared<tg::nn::Linear>(8, 1));
//   tg::Tensor scores = (*heads["cls"])(h);   // [2,3]; parameters "cls.weight", "reg.bias", ...
// @endcode
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/nn/module.hpp>

namespace tg::nn {

/// Returns its input unchanged (PyTorch's nn.Identity): a placeholder where a
/// layer is optional, e.g. a skip connection without projection.
class Identity : public Module {
 public:
  Tensor forward(const Tensor& input) override { return input; }
};

/// Modules held in order, child i registered under the name "i" (PyTorch's
/// nn.ModuleList). It has no forward(): iterate it, or index it, in the owner's forward.
class ModuleList : public Module {
 public:
  /// An empty list to push_back() to.
  ModuleList() = default;
  /// The given modules in order; a null module throws std::invalid_argument.
  ///@{
  ModuleList(std::initializer_list<ModulePtr> modules);
  explicit ModuleList(const std::vector<ModulePtr>& modules);
  ///@}

  /// Appends a module, named by its position; returns *this for chaining.
  /// Throws std::invalid_argument for a null module.
  ModuleList& push_back(ModulePtr module);
  /// Same as push_back() (PyTorch's name).
  ModuleList& append(ModulePtr module) { return push_back(std::move(module)); }
  /// The i-th module; throws std::invalid_argument naming the size when i >= size().
  const ModulePtr& operator[](std::size_t i) const;
  /// The i-th module as type M; throws std::invalid_argument when it is not an M.
  template <class M> std::shared_ptr<M> at(std::size_t i) const {
    auto typed = std::dynamic_pointer_cast<M>((*this)[i]);
    if (!typed) wrong_type(i);
    return typed;
  }
  /// Number of modules.
  std::size_t size() const { return modules_.size(); }
  /// True without modules.
  bool empty() const { return modules_.empty(); }
  /// The modules in order, for range-for.
  ///@{
  std::vector<ModulePtr>::const_iterator begin() const { return modules_.begin(); }
  std::vector<ModulePtr>::const_iterator end() const { return modules_.end(); }
  ///@}
  /// Throws std::invalid_argument: a ModuleList is not callable (as in PyTorch).
  Tensor forward(const Tensor& input) override;

 private:
  [[noreturn]] void wrong_type(std::size_t i) const;
  std::vector<ModulePtr> modules_;
};

/// Modules held by name in insertion order, each registered under its key
/// (PyTorch's nn.ModuleDict). Keys follow the rules of submodule names
/// (non-empty, no '.'). It has no forward().
class ModuleDict : public Module {
 public:
  /// An empty dictionary to insert() into.
  ModuleDict() = default;
  /// The given (key, module) pairs in order; a duplicate key or null module throws.
  ModuleDict(std::initializer_list<std::pair<std::string, ModulePtr>> items);

  /// Adds `module` under a new `key` (at the end of the order); returns *this.
  /// Throws std::invalid_argument for a null module, a key in use, or a key
  /// that is empty or contains '.'. (Replacing a key's module is not supported:
  /// its old parameters would stay registered.)
  ModuleDict& insert(const std::string& key, ModulePtr module);
  /// The module under `key`; throws std::invalid_argument listing the keys when absent.
  const ModulePtr& operator[](const std::string& key) const;
  /// The module under `key` as type M; throws std::invalid_argument when it is not an M.
  template <class M> std::shared_ptr<M> at(const std::string& key) const {
    auto typed = std::dynamic_pointer_cast<M>((*this)[key]);
    if (!typed) wrong_type(key);
    return typed;
  }
  /// True when `key` is present.
  bool contains(const std::string& key) const;
  /// The keys in insertion order.
  std::vector<std::string> keys() const;
  /// Number of modules.
  std::size_t size() const { return items_.size(); }
  /// True without modules.
  bool empty() const { return items_.empty(); }
  /// (key, module) pairs in insertion order, for range-for.
  ///@{
  std::vector<std::pair<std::string, ModulePtr>>::const_iterator begin() const { return items_.begin(); }
  std::vector<std::pair<std::string, ModulePtr>>::const_iterator end() const { return items_.end(); }
  ///@}
  /// Throws std::invalid_argument: a ModuleDict is not callable (as in PyTorch).
  Tensor forward(const Tensor& input) override;

 private:
  [[noreturn]] void wrong_type(const std::string& key) const;
  std::vector<std::pair<std::string, ModulePtr>> items_;
};

}  // namespace tg::nn
