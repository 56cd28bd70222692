// operator<< for tensors, in the style of PyTorch's repr:
//   tensor([[1., 2.],
//           [3., 4.]], dtype=float64, requires_grad=true)
// Large tensors print their first and last three entries per dimension.
#include <iomanip>
#include <ostream>
#include <sstream>

#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"

namespace tg {
namespace {

constexpr std::int64_t kEdgeItems = 3;
constexpr std::int64_t kSummariseAbove = 1000;

std::string format_value(double v, bool integral_dtype) {
  std::ostringstream os;
  if (integral_dtype) {
    os << static_cast<long long>(v);
  } else if (v == static_cast<long long>(v) && std::abs(v) < 1e9) {
    os << static_cast<long long>(v) << '.';
  } else {
    os << std::setprecision(4) << v;
  }
  return os.str();
}

void print_rec(std::ostream& os, const std::vector<double>& v, const Shape& shape, int axis, std::int64_t offset,
               std::int64_t stride_product, bool summarise, bool integral, int indent) {
  if (shape.size() == 0) {
    os << format_value(v[0], integral);
    return;
  }
  const std::int64_t n = shape[axis];
  const std::int64_t inner = stride_product / (n == 0 ? 1 : n);
  os << '[';
  for (std::int64_t i = 0; i < n; ++i) {
    if (summarise && n > 2 * kEdgeItems && i == kEdgeItems) {
      os << "...";
      i = n - kEdgeItems - 1;
      os << (axis + 1 == shape.size() ? ", " : ",\n" + std::string(indent + 1, ' '));
      continue;
    }
    if (axis + 1 == shape.size()) {
      os << format_value(v[offset + i], integral);
    } else {
      print_rec(os, v, shape, axis + 1, offset + i * inner, inner, summarise, integral, indent + 1);
    }
    if (i + 1 < n) os << (axis + 1 == shape.size() ? ", " : ",\n" + std::string(indent + 1, ' '));
  }
  os << ']';
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  const std::vector<double> v = t.to_vector<double>();
  os << "tensor(";
  print_rec(os, v, t.shape(), 0, 0, t.numel(), t.numel() > kSummariseAbove, t.dtype() == kInt64, 7);
  if (t.dim() != 1 || t.numel() == 0) os << ", shape=" << t.shape().str();
  if (t.dtype() != kFloat32) os << ", dtype=" << dtype_name(t.dtype());
  if (t.requires_grad()) {
    if (t.grad_fn())
      os << ", grad_fn=" << t.grad_fn()->name();
    else
      os << ", requires_grad=true";
  }
  return os << ')';
}

}  // namespace tg
