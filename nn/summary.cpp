// nn::summary: watches one no-grad forward pass through forward hooks on every
// module and tabulates the leaf modules it saw (and the modules with parameters
// of their own, such as MultiheadAttention's in_proj_weight, which would
// otherwise appear in no row).
#include <algorithm>
#include <map>
#include <set>
#include <ostream>
#include <sstream>

#include <tapegrad/core/autograd.hpp>
#include <tapegrad/nn/summary.hpp>

namespace tg::nn {
namespace {

// Pre-order (module, training flag) list: restoring in this order lets each
// child override the flag its parent's train() pushed down.
void collect_modes(Module& m, std::vector<std::pair<Module*, bool>>& out) {
  out.emplace_back(&m, m.is_training());
  for (auto& [name, child] : m.named_children()) collect_modes(*child, out);
}

// Removes the hooks it holds when the summary pass ends, by return or by exception.
struct HookRemover {
  std::vector<RemovableHandle> handles;
  ~HookRemover() {
    for (RemovableHandle& h : handles) h.remove();
  }
};

// 10416 -> "10,416"
std::string with_commas(std::int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<std::size_t>(i), ",");
  return v < 0 ? "-" + digits : digits;
}

}  // namespace

ModelSummary summary(Module& model, const Shape& input_shape, Dtype dtype) {
  std::vector<std::pair<Module*, bool>> modes;
  collect_modes(model, modes);
  // Every leaf module call, in the order they ran (a module called twice gives two rows).
  std::vector<std::pair<const Module*, Shape>> calls;
  Tensor output;
  {
    HookRemover hooks;
    std::set<Module*> hooked;  // a module registered under two names is still one module
    for (auto& [m, on] : modes)
      if ((m->named_children().empty() || !m->named_parameters(false).empty()) && hooked.insert(m).second)
        hooks.handles.push_back(m->register_forward_hook(
            [&calls](Module& leaf, const Tensor&, const Tensor& y) { calls.emplace_back(&leaf, y.shape()); }));
    NoGradGuard no_grad;
    model.eval();
    try {
      output = model(zeros(input_shape, dtype));
    } catch (...) {
      for (auto& [m, on] : modes) m->train(on);
      throw;
    }
    for (auto& [m, on] : modes) m->train(on);
  }

  std::map<const Module*, std::string> paths;  // a shared module keeps its first path
  for (const auto& [path, m] : model.named_modules()) paths.emplace(m, path);

  ModelSummary s;
  s.input_shape = input_shape;
  s.output_shape = output.shape();
  for (const auto& [m, shape] : calls) {
    std::int64_t own = 0;  // a module with children counts only its own parameters: they have their rows
    for (const auto& named : m->named_parameters(false)) own += named.second.numel();
    s.rows.push_back({paths.at(m), m->type_name(), shape, own});
  }
  for (const Tensor& p : model.parameters()) {
    s.total_parameters += p.numel();
    if (p.requires_grad()) s.trainable_parameters += p.numel();
  }
  return s;
}

std::string ModelSummary::str() const {
  const std::vector<std::string> header = {"Layer", "Type", "Output shape", "Param #"};
  std::vector<std::vector<std::string>> cells;
  for (const SummaryRow& r : rows)
    cells.push_back({r.path.empty() ? "(model)" : r.path, r.type, r.output_shape.str(), with_commas(r.parameters)});
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : cells) width[c] = std::max(width[c], row[c].size());
  }
  std::ostringstream os;
  auto line = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string pad(width[c] - row[c].size(), ' ');
      if (c + 1 == row.size())
        os << pad << row[c];  // numbers right-aligned
      else
        os << row[c] << pad << "  ";
    }
    os << '\n';
  };
  line(header);
  std::size_t total_width = 0;
  for (std::size_t w : width) total_width += w + 2;
  os << std::string(total_width - 2, '-') << '\n';
  for (const auto& row : cells) line(row);
  os << std::string(total_width - 2, '-') << '\n';
  os << "Input shape " << input_shape.str() << ", output shape " << output_shape.str() << '\n';
  os << "Total params: " << with_commas(total_parameters) << '\n';
  os << "Trainable params: " << with_commas(trainable_parameters) << '\n';
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const ModelSummary& summary) { return os << summary.str(); }

}  // namespace tg::nn
