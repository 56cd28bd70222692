// tg::nn::ModuleList and ModuleDict: registration by position or key; neither
// computes anything, so they have no gradient of their own.
#include <string>

#include "core/dispatch.hpp"
#include <tapegrad/nn/containers.hpp>

namespace tg::nn {

ModuleList::ModuleList(std::initializer_list<ModulePtr> modules) {
  for (const ModulePtr& m : modules) push_back(m);
}

ModuleList::ModuleList(const std::vector<ModulePtr>& modules) {
  for (const ModulePtr& m : modules) push_back(m);
}

ModuleList& ModuleList::push_back(ModulePtr module) {
  // register_module refuses null modules with a message naming this ModuleList.
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
  return *this;
}

const ModulePtr& ModuleList::operator[](std::size_t i) const {
  if (i >= modules_.size())
    tg::detail::fail("ModuleList[", i, "]: index out of range for a ModuleList of ", modules_.size(), " modules");
  return modules_[i];
}

void ModuleList::wrong_type(std::size_t i) const {
  tg::detail::fail("ModuleList::at(", i, "): module ", i, " is a ", modules_[i]->type_name(),
                   ", not the requested type");
}

Tensor ModuleList::forward(const Tensor&) {
  tg::detail::fail("ModuleList has no forward(): call its modules, e.g. for (auto& m : list) x = (*m)(x)");
}

ModuleDict::ModuleDict(std::initializer_list<std::pair<std::string, ModulePtr>> items) {
  for (const auto& [key, m] : items) insert(key, m);
}

ModuleDict& ModuleDict::insert(const std::string& key, ModulePtr module) {
  // register_module checks the key (non-empty, no '.', unused) and the module (non-null).
  register_module(key, module);
  items_.emplace_back(key, std::move(module));
  return *this;
}

const ModulePtr& ModuleDict::operator[](const std::string& key) const {
  for (const auto& item : items_)
    if (item.first == key) return item.second;
  std::string known;
  for (const auto& item : items_) known += (known.empty() ? "" : ", ") + item.first;
  tg::detail::fail("ModuleDict[\"", key, "\"]: no such key; the keys are {", known, "}");
}

bool ModuleDict::contains(const std::string& key) const {
  for (const auto& item : items_)
    if (item.first == key) return true;
  return false;
}

std::vector<std::string> ModuleDict::keys() const {
  std::vector<std::string> out;
  for (const auto& item : items_) out.push_back(item.first);
  return out;
}

void ModuleDict::wrong_type(const std::string& key) const {
  tg::detail::fail("ModuleDict::at(\"", key, "\"): module \"", key, "\" is a ", (*this)[key]->type_name(),
                   ", not the requested type");
}

Tensor ModuleDict::forward(const Tensor&) {
  tg::detail::fail("ModuleDict has no forward(): call its modules by key, e.g. (*dict[\"name\"])(x)");
}

}  // namespace tg::nn
