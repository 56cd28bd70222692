// tapegrad against PyTorch: the cases of tests/data/reduction_ops_reference.txt,
// written by tests/torch_reference/reduction_ops.py with PyTorch (never run
// here), run through tapegrad by name. These ops round (exp, log, erf, sqrt),
// so floats agree to a relative 1e-12 (NaN with NaN, infinities exactly);
// int64 results (indices) exactly. A call PyTorch refuses must throw
// std::invalid_argument here.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

using namespace tg;

namespace {

using Case = std::function<Tensor(const std::vector<Tensor>&)>;
constexpr double kInf = std::numeric_limits<double>::infinity();

// The same names, and the same calls, as CASES in tests/torch_reference/reduction_ops.py.
const std::map<std::string, Case>& cases() {
  using V = const std::vector<Tensor>&;
  static const std::map<std::string, Case> all = {
      {"max_dim1", [](V v) { return max(v[0], 1).values; }},
      {"max_dim1_indices", [](V v) { return max(v[0], 1).indices; }},
      {"max_dim0_keepdim", [](V v) { return max(v[0], 0, true).values; }},
      {"max_dim_ties", [](V v) { return max(v[0], 1).values; }},
      {"max_dim_ties_indices", [](V v) { return max(v[0], 1).indices; }},
      {"max_dim_nan_indices", [](V v) { return max(v[0], 1).indices; }},
      {"max_0d", [](V v) { return max(v[0], 0).values; }},
      {"max_dim_out_of_range", [](V v) { return max(v[0], 2).values; }},
      {"max_dim_empty", [](V v) { return max(v[0], 0).values; }},
      {"min_dim_neg1", [](V v) { return min(v[0], -1).values; }},
      {"min_dim_neg1_indices", [](V v) { return min(v[0], -1).indices; }},
      {"min_dim1_keepdim_ties", [](V v) { return min(v[0], 1, true).values; }},
      {"max_all_ties", [](V v) { return max(v[0]); }},
      {"min_all", [](V v) { return min(v[0]); }},
      {"min_all_ties", [](V v) { return min(v[0]); }},
      {"max_all_nan", [](V v) { return max(v[0]); }},
      {"max_all_empty", [](V v) { return max(v[0]); }},
      {"argmax_dim1", [](V v) { return argmax(v[0], 1); }},
      {"argmax_dim0_keepdim", [](V v) { return argmax(v[0], 0, true); }},
      {"argmax_all", [](V v) { return argmax(v[0]); }},
      {"argmax_ties", [](V v) { return argmax(v[0]); }},
      {"argmin_dim_neg1", [](V v) { return argmin(v[0], -1); }},
      {"argmin_all", [](V v) { return argmin(v[0]); }},
      {"argmin_empty", [](V v) { return argmin(v[0]); }},
      {"prod_all", [](V v) { return prod(v[0]); }},
      {"prod_dim1_zeros", [](V v) { return prod(v[0], 1); }},
      {"prod_dim0_keepdim", [](V v) { return prod(v[0], 0, true); }},
      {"prod_all_one_zero", [](V v) { return prod(v[0]); }},
      {"prod_all_two_zeros", [](V v) { return prod(v[0]); }},
      {"prod_empty_dim", [](V v) { return prod(v[0], 1); }},
      {"cumsum_dim0", [](V v) { return cumsum(v[0], 0); }},
      {"cumsum_0d", [](V v) { return cumsum(v[0], 0); }},
      {"cumsum_dim_neg1", [](V v) { return cumsum(v[0], -1); }},
      {"var_all", [](V v) { return var(v[0]); }},
      {"var_dims_correction0_keepdim", [](V v) { return var(v[0], {0, 2}, 0, true); }},
      {"var_dim1_correction2", [](V v) { return var(v[0], {1}, 2); }},
      {"var_correction_too_large", [](V v) { return var(v[0], {1}, 3); }},
      {"var_int64", [](V v) { return var(v[0]); }},
      {"std_all", [](V v) { return tg::std(v[0]); }},
      {"std_dim_neg2", [](V v) { return tg::std(v[0], {-2}); }},
      {"std_constant", [](V v) { return tg::std(v[0], {1}, 0); }},
      {"logsumexp_dim1", [](V v) { return logsumexp(v[0], {1}); }},
      {"logsumexp_dims_keepdim", [](V v) { return logsumexp(v[0], {0, 2}, true); }},
      {"logsumexp_large", [](V v) { return logsumexp(v[0], {-1}); }},
      {"logsumexp_infinities", [](V v) { return logsumexp(v[0], {1}); }},
      {"logsumexp_empty_dim", [](V v) { return logsumexp(v[0], {1}); }},
      {"norm2_all", [](V v) { return norm(v[0]); }},
      {"norm2_dim1_keepdim", [](V v) { return norm(v[0], 2, {1}, true); }},
      {"norm2_zero_row", [](V v) { return norm(v[0], 2, {1}); }},
      {"norm2_empty", [](V v) { return norm(v[0], 2, {0}); }},
      {"norm1_dims", [](V v) { return norm(v[0], 1, {0, 2}); }},
      {"norm1_zero", [](V v) { return norm(v[0], 1); }},
      {"norminf_dim0_ties", [](V v) { return norm(v[0], kInf, {0}); }},
      {"norminf_all_ties", [](V v) { return norm(v[0], kInf); }},
      {"norminf_nan", [](V v) { return norm(v[0], kInf); }},
      {"norminf_zero", [](V v) { return norm(v[0], kInf); }},
      {"maximum_broadcast", [](V v) { return maximum(v[0], v[1]); }},
      {"maximum_ties", [](V v) { return maximum(v[0], v[1]); }},
      {"minimum_broadcast_ties", [](V v) { return minimum(v[0], v[1]); }},
      {"maximum_nan", [](V v) { return maximum(v[0], v[1]); }},
      {"minimum_nan", [](V v) { return minimum(v[0], v[1]); }},
      {"maximum_shapes_differ", [](V v) { return maximum(v[0], v[1]); }},
      {"floor", [](V v) { return floor(v[0]); }},
      {"ceil", [](V v) { return ceil(v[0]); }},
      {"round_half_even", [](V v) { return round(v[0]); }},
      {"sign", [](V v) { return sign(v[0]); }},
      {"erf", [](V v) { return erf(v[0]); }},
      {"log1p", [](V v) { return log1p(v[0]); }},
      {"expm1", [](V v) { return expm1(v[0]); }},
      {"rsqrt", [](V v) { return rsqrt(v[0]); }},
      {"atan2_broadcast", [](V v) { return atan2(v[0], v[1]); }},
      {"atan2_quadrants", [](V v) { return atan2(v[0], v[1]); }},
      {"pow_exponent_0", [](V v) { return pow(v[0], 0.0); }},
      {"pow_exponent_0_times_x", [](V v) { return pow(v[0], 0.0) * v[0]; }},
  };
  return all;
}

// A tensor as the file writes it: "[2,3] v v v ..." (the extents, then the values).
struct Values {
  Shape shape;
  std::vector<double> values;
};

Values read_values(std::istringstream& in) {
  std::string extents;
  in >> extents;
  REQUIRE(extents.size() >= 2);
  std::vector<std::int64_t> dims;
  std::istringstream e(extents.substr(1, extents.size() - 2));
  for (std::string d; std::getline(e, d, ',');) dims.push_back(std::stoll(d));
  Values v{Shape(dims), {}};
  for (std::string x; in >> x;) v.values.push_back(std::stod(x));  // Python's repr, "nan" and "inf" included
  REQUIRE(static_cast<std::int64_t>(v.values.size()) == v.shape.numel());
  return v;
}

Dtype dtype_named(const std::string& name) {
  if (name == "float32") return kFloat32;
  if (name == "float64") return kFloat64;
  REQUIRE(name == "int64");
  return kInt64;
}

Tensor make(const std::string& dtype, const Values& v) {
  if (dtype_named(dtype) != kInt64) return tensor(v.values, v.shape, dtype_named(dtype));
  return tensor_i64(std::vector<std::int64_t>(v.values.begin(), v.values.end()), v.shape);
}

bool close(double got, double want) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::abs(got - want) <= 1e-14 + 1e-12 * std::abs(want);
}

void check_close(const Tensor& got, const Values& want, const std::string& what) {
  INFO(what << ": tapegrad " << got << ", PyTorch " << want.shape.str());
  REQUIRE(got.defined());
  REQUIRE(got.shape() == want.shape);
  const std::vector<double> g = got.to_vector<double>();
  for (std::size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i << ": tapegrad " << g[i] << ", PyTorch " << want.values[i]);
    CHECK(close(g[i], want.values[i]));
  }
}

}  // namespace

TEST_CASE("reductions, statistics, norms and element-wise math agree with PyTorch", "[ops][torch_reference]") {
  std::ifstream file(std::string(TAPEGRAD_SOURCE_DIR) + "/tests/data/reduction_ops_reference.txt");
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
    INFO("case " << name << ", line " << line_number);
    if (key == "case") {
      in >> name;
      REQUIRE(cases().count(name) == 1);  // every case of the file has its tapegrad call
      seen.insert(name);
      inputs.clear();
      output = Tensor();
      refused = false;
    } else if (key == "input") {
      std::string dtype, grad;
      in >> dtype >> grad;
      Tensor t = make(dtype, read_values(in));
      if (grad == "grad") t.requires_grad_();
      inputs.push_back(t);
    } else if (key == "output") {
      std::string dtype;
      in >> dtype;
      const Values want = read_values(in);
      output = cases().at(name)(inputs);
      CHECK(output.dtype() == dtype_named(dtype));
      check_close(output, want, "output");
    } else if (key == "raises") {
      refused = true;
      CHECK_THROWS_AS(cases().at(name)(inputs), std::invalid_argument);
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
        check_close(inputs[k].grad(), read_values(in), "gradient of input " + std::to_string(k));
      }
    } else {
      REQUIRE(key == "end");
      CHECK((output.defined() || refused));
    }
  }
  CHECK(seen.size() == cases().size());  // every tapegrad call has its case in the file
}
