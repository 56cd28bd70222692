// NumPy broadcasting: the shape rule and the merged iteration plan.
#include <algorithm>

#include "core/checked_math.hpp"
#include "core/dispatch.hpp"
#include "ops/broadcast.hpp"
#include <tapegrad/ops/ops.hpp>

namespace tg {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int nd = std::max(a.size(), b.size());
  std::vector<std::int64_t> out;
  for (int i = 0; i < nd; ++i) {
    const int ia = i - (nd - a.size()), ib = i - (nd - b.size());
    const std::int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1)
      detail::fail(op, ": shapes ", a.str(), " and ", b.str(), " cannot be broadcast together (", da,
                   " vs ", db, " in dimension ", i - nd, ")");
    out.push_back(da == 1 ? db : da);
  }
  // [2^40, 1] and [1, 2^40] are each valid, their broadcast is not.
  if (const char* problem = detail::shape_size_problem(out))
    detail::fail(op, ": shapes ", a.str(), " and ", b.str(), " broadcast to ", detail::extents_str(out), ", which ",
                 problem);
  return Shape(out);
}

namespace detail {

BroadcastPlan make_broadcast_plan(const Shape& a, const Shape& b, const Shape& out) {
  const int nd = out.size();
  // Per-dimension strides of a and b in the output's coordinates (0 = broadcast).
  std::vector<std::int64_t> sa(nd, 0), sb(nd, 0);
  std::int64_t acc_a = 1, acc_b = 1;
  for (int i = nd - 1; i >= 0; --i) {
    const int ia = i - (nd - a.size()), ib = i - (nd - b.size());
    if (ia >= 0 && a[ia] != 1) sa[i] = acc_a;
    if (ib >= 0 && b[ib] != 1) sb[i] = acc_b;
    if (ia >= 0) acc_a *= a[ia];
    if (ib >= 0) acc_b *= b[ib];
  }
  BroadcastPlan plan;
  plan.numel = out.numel();
  // Merge dimension i into the one after it when both operands step through
  // them as one contiguous run (or both broadcast them).
  for (int i = 0; i < nd; ++i) {
    if (out[i] == 1) continue;  // size-1 dimensions do not move the odometer
    if (!plan.extent.empty()) {
      const std::int64_t e = out[i];
      auto& last_e = plan.extent.back();
      auto& last_a = plan.stride_a.back();
      auto& last_b = plan.stride_b.back();
      if (last_a == sa[i] * e && last_b == sb[i] * e) {
        last_e *= e;
        last_a = sa[i];
        last_b = sb[i];
        continue;
      }
    }
    plan.extent.push_back(out[i]);
    plan.stride_a.push_back(sa[i]);
    plan.stride_b.push_back(sb[i]);
  }
  return plan;
}

}  // namespace detail
}  // namespace tg
