// Runs the cases of a PyTorch reference file (tests/data/*_reference.txt) through
// tapegrad. The files are written with PyTorch by the scripts of
// tests/torch_reference/ (through their reference_file.py), never at test time:
//
//   case <name>
//   input <dtype> grad|const [2,3] v v v ...   one per input, in order
//   output <dtype> [2] v v                      or: raises (PyTorch refused the call)
//   seed [2] v v                                the gradient backward starts from
//   grad <k> [2,3] v v ...                      or: grad <k> none
//   end
//
// Each case name maps to the tapegrad call that must give the same values; a
// call PyTorch refuses must throw std::invalid_argument here.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace tg::testing {

using ReferenceCase = std::function<Tensor(const std::vector<Tensor>&)>;
using ReferenceCases = std::map<std::string, ReferenceCase>;

/// How close a value must be: |got - want| <= abs + rel |want| (both 0: equal);
/// NaN matches NaN and an infinity only itself.
struct Tolerance {
  double rel = 0, abs = 0;
};
/// The tolerance of one value: the output or a gradient (`gradient`) of case `name`, in `dtype`.
using ToleranceFor = std::function<Tolerance(const std::string& name, Dtype dtype, bool gradient)>;

inline ToleranceFor exactly() {
  return [](const std::string&, Dtype, bool) { return Tolerance{}; };
}
inline ToleranceFor within(double rel, double abs) {
  return [=](const std::string&, Dtype, bool) { return Tolerance{rel, abs}; };
}

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
  return std::abs(got - want) <= t.abs + t.rel * std::abs(want);
}

inline void check_values(const Tensor& got, const Values& want, Tolerance t, const std::string& what) {
  INFO(what << ": tapegrad " << got << ", PyTorch " << want.shape.str());
  REQUIRE(got.defined());
  REQUIRE(got.shape() == want.shape);
  const std::vector<double> g = got.to_vector<double>();
  for (std::size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i << ": tapegrad " << g[i] << ", PyTorch " << want.values[i]);
    CHECK(close(g[i], want.values[i], t));
  }
}

}  // namespace reference_detail

/// Runs every case of `data_file` (relative to the source tree) through its call
/// in `cases`, and checks that every call has a case in the file.
inline void check_against_pytorch(const std::string& data_file, const ReferenceCases& cases,
                                  const ToleranceFor& tolerance) {
  using namespace reference_detail;
  std::ifstream file(std::string(TAPEGRAD_SOURCE_DIR) + "/" + data_file);
  REQUIRE(file.good());
  std::set<std::string> seen;
  std::string line, name;
  std::vector<Tensor> inputs;
  Tensor output;
  bool refused = false;
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
      output = Tensor();
      refused = false;
    } else if (key == "input") {
      std::string dtype, grad;
      in >> dtype >> grad;
      Tensor t = make(dtype_named(dtype), read_values(in));
      if (grad == "grad") t.requires_grad_();
      inputs.push_back(t);
    } else if (key == "output") {
      std::string dtype;
      in >> dtype;
      const Values want = read_values(in);
      output = cases.at(name)(inputs);
      CHECK(output.dtype() == dtype_named(dtype));
      check_values(output, want, tolerance(name, output.dtype(), false), "output");
    } else if (key == "raises") {
      refused = true;
      CHECK_THROWS_AS(cases.at(name)(inputs), std::invalid_argument);
    } else if (key == "seed") {
      REQUIRE(output.requires_grad());
      const Values seed = read_values(in);
      output.backward(tensor(seed.values, seed.shape, output.dtype()));
    } else if (key == "grad") {
      std::size_t k = 0;
      in >> k;
      REQUIRE(k < inputs.size());
      if (line.find(" none") != std::string::npos) {
        CHECK_FALSE(inputs[k].grad().defined());
      } else {
        check_values(inputs[k].grad(), read_values(in), tolerance(name, inputs[k].dtype(), true),
                     "gradient of input " + std::to_string(k));
      }
    } else {
      REQUIRE(key == "end");
      CHECK((output.defined() || refused));
    }
  }
  CHECK(seen.size() == cases.size());  // every tapegrad call has its case in the file
}

}  // namespace tg::testing
