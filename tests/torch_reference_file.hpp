// Runs the cases of a PyTorch reference file (tests/data/*_reference.txt) through
// tapegrad. The files are written with PyTorch by the scripts of
// tests/torch_reference/ (through their reference_file.py), never at test time:
//
//   case <name>
//   input <dtype> grad|nograd [2,3] v v v ...  one per input, in order
//   output <dtype> [2] v v                      or: raises (PyTorch refused the call)
//   after <k> [2,3] v v ...                     input k as the call left it (changed in place)
//   seed [2] v v                                the gradient backward starts from
//   grad <k> [2,3] v v ...                      or: grad <k> none
//   named <name> <dtype> [2] v v                a tensor the call reports by name
//   end
//
// Each case name maps to the tapegrad call that must give the same values; a
// call PyTorch refuses must throw std::invalid_argument here.
//
// Named tensors are for a case that is more than one call and one backward: a
// module over several training and eval calls (its outputs, gradients and
// buffers), an optimizer's trajectory, a chain of in-place ops with a loss of
// its own. Such a call returns its tensors by name, in the order the script
// wrote them; the names, their order, dtypes, shapes and values must all match.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace tg::testing {

/// What a case's call gives back: the output (checked against the file's `output`,
/// then seeded for backward) or tensors by name (checked against its `named` lines).
struct ReferenceResult {
  Tensor output;
  std::vector<std::pair<std::string, Tensor>> named;
  ReferenceResult(Tensor t) : output(std::move(t)) {}  // NOLINT: a call returning a Tensor is a case
  ReferenceResult(std::vector<std::pair<std::string, Tensor>> n) : named(std::move(n)) {}  // NOLINT
};
using ReferenceCase = std::function<ReferenceResult(const std::vector<Tensor>&)>;
using ReferenceCases = std::map<std::string, ReferenceCase>;

/// How close a value must be: |got - want| <= abs + rel max(|want|, min_scale)
/// (all 0: equal); NaN matches NaN and an infinity only itself. `min_scale` 1 is
/// Catch's Approx(want).epsilon(rel).margin(rel): relative above 1, absolute below.
struct Tolerance {
  double rel = 0, abs = 0, min_scale = 0;
};
/// The tolerance of one checked tensor of case `name`, in `dtype`; `what` names its
/// line: "output", "grad <k>", "after <k>" or "named <name>".
using ToleranceFor = std::function<Tolerance(const std::string& name, Dtype dtype, const std::string& what)>;

inline ToleranceFor exactly() {
  return [](const std::string&, Dtype, const std::string&) { return Tolerance{}; };
}
inline ToleranceFor within(double rel, double abs, double min_scale = 0) {
  return [=](const std::string&, Dtype, const std::string&) { return Tolerance{rel, abs, min_scale}; };
}

/// How the cases run. `inputs_as`: the floating inputs are converted to this dtype
/// before the call (e.g. float32 against float64 references), and the output must
/// have it; the values are still compared with the file's.
struct ReferenceOptions {
  std::optional<Dtype> inputs_as;
};

namespace reference_detail {

// A tensor as the file writes it: "[2,3] v v v ..." (the extents, then the values).
struct Values {
  Shape shape;
  std::vector<double> values;
};

inline Values read_values(std::istringstream& in) {
  std::string extents;
  in >> extents;
  REQUIRE(extents.size() >= 2);
  std::vector<std::int64_t> dims;
  std::istringstream e(extents.substr(1, extents.size() - 2));
  for (std::string d; std::getline(e, d, ',');) dims.push_back(std::stoll(d));
  Values v{Shape(dims), {}};
  for (std::string x; in >> x;) v.values.push_back(std::stod(x));  // Python's repr (exact), "nan" and "inf" included
  REQUIRE(static_cast<std::int64_t>(v.values.size()) == v.shape.numel());
  return v;
}

inline Dtype dtype_named(const std::string& name) {
  if (name == "float32") return kFloat32;
  if (name == "float64") return kFloat64;
  REQUIRE(name == "int64");
  return kInt64;
}

inline Tensor make(Dtype dtype, const Values& v) {
  if (dtype != kInt64) return tensor(v.values, v.shape, dtype);
  return tensor_i64(std::vector<std::int64_t>(v.values.begin(), v.values.end()), v.shape);
}

inline bool close(double got, double want, Tolerance t) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::abs(got - want) <= t.abs + t.rel * std::max(std::abs(want), t.min_scale);
}

inline void check_values(const Tensor& got, Dtype dtype, const Values& want, Tolerance t, const std::string& what) {
  INFO(what << ": tapegrad " << got << ", PyTorch " << want.shape.str() << " " << dtype_name(dtype));
  REQUIRE(got.defined());
  CHECK(got.dtype() == dtype);
  REQUIRE(got.shape() == want.shape);
  const std::vector<double> g = got.to_vector<double>();
  for (std::size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i << ": tapegrad " << g[i] << ", PyTorch " << want.values[i]);
    CHECK(close(g[i], want.values[i], t));
  }
}

}  // namespace reference_detail

/// Runs every case of `data_file` (relative to the source tree) through its call
/// in `cases`, and checks that every call has a case in the file. Returns how many
/// lines of each kind ("output", "grad", "named", ...) it checked.
inline std::map<std::string, int> check_against_pytorch(const std::string& data_file, const ReferenceCases& cases,
                                                         const ToleranceFor& tolerance,
                                                         const ReferenceOptions& options = {}) {
  using namespace reference_detail;
  std::ifstream file(std::string(TAPEGRAD_SOURCE_DIR) + "/" + data_file);
  REQUIRE(file.good());
  std::map<std::string, int> checked;
  std::set<std::string> seen;
  std::string line, name;
  std::vector<Tensor> inputs;
  std::optional<ReferenceResult> result;
  std::size_t next_named = 0;
  int grads = 0;
  bool refused = false, seeded = false;
  // The call runs once, at the first line that needs its result.
  auto call = [&]() -> ReferenceResult& {
    if (!result) result = cases.at(name)(inputs);
    return *result;
  };
  for (int line_number = 1; std::getline(file, line); ++line_number) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string key;
    in >> key;
    INFO(data_file << ": case " << name << ", line " << line_number);
    if (key == "case") {
      in >> name;
      REQUIRE(cases.count(name) == 1);  // every case of the file has its tapegrad call
      seen.insert(name);
      inputs.clear();
      result.reset();
      next_named = 0;
      grads = 0;
      refused = seeded = false;
      continue;
    }
    ++checked[key];
    if (key == "input") {
      std::string dtype, grad;
      in >> dtype >> grad;
      Tensor t = make(dtype_named(dtype), read_values(in));
      if (options.inputs_as && t.dtype() != kInt64) t = t.to(*options.inputs_as);
      if (grad == "grad") t.requires_grad_();
      inputs.push_back(t);
    } else if (key == "output") {
      std::string dtype;
      in >> dtype;
      const Values want = read_values(in);
      const Tensor& output = call().output;
      REQUIRE(output.defined());
      const Dtype expected = options.inputs_as && dtype != "int64" ? *options.inputs_as : dtype_named(dtype);
      check_values(output, expected, want, tolerance(name, output.dtype(), "output"), "output");
    } else if (key == "after") {
      std::size_t k = 0;
      in >> k;
      REQUIRE(k < inputs.size());
      call();
      const std::string what = "after " + std::to_string(k);
      check_values(inputs[k].detach(), inputs[k].dtype(), read_values(in), tolerance(name, inputs[k].dtype(), what),
                   "input " + std::to_string(k) + " after the call");
    } else if (key == "raises") {
      refused = true;
      CHECK_THROWS_AS(cases.at(name)(inputs), std::invalid_argument);
    } else if (key == "seed") {
      const Tensor& output = call().output;
      REQUIRE(output.requires_grad());
      const Values seed = read_values(in);
      output.backward(tensor(seed.values, seed.shape, output.dtype()));
      seeded = true;
    } else if (key == "grad") {
      std::size_t k = 0;
      in >> k;
      REQUIRE(k < inputs.size());
      ++grads;
      if (line.find(" none") != std::string::npos) {
        CHECK_FALSE(inputs[k].grad().defined());
      } else {
        const std::string what = "grad " + std::to_string(k);
        check_values(inputs[k].grad(), inputs[k].dtype(), read_values(in), tolerance(name, inputs[k].dtype(), what),
                     "gradient of input " + std::to_string(k));
      }
    } else if (key == "named") {
      std::string tensor_name, dtype;
      in >> tensor_name >> dtype;
      const auto& named = call().named;
      REQUIRE(next_named < named.size());  // the call reports every tensor of the file ...
      const auto& [got_name, got] = named[next_named++];
      CHECK(got_name == tensor_name);  // ... by the same name, in the same order
      const Dtype want_dtype = dtype_named(dtype);
      check_values(got, want_dtype, read_values(in), tolerance(name, want_dtype, "named " + tensor_name),
                   "tensor " + tensor_name);
    } else {
      REQUIRE(key == "end");
      CHECK((refused || result));
      if (result) {
        CHECK(next_named == result->named.size());  // and no other
        std::size_t needing_grad = 0;
        for (const Tensor& t : inputs) needing_grad += t.requires_grad() ? 1 : 0;
        if (seeded) CHECK(static_cast<std::size_t>(grads) == needing_grad);  // a gradient for every such input
      }
    }
  }
  CHECK(seen.size() == cases.size());  // every tapegrad call has its case in the file
  return checked;
}

}  // namespace tg::testing
