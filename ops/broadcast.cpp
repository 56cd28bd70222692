// NumPy broadcasting: the shape rule and the merged iteration plan.
#include <algorithm>

#include "core/checked_math.hpp"
#include "core/dispatch.hpp"
#include "ops/broadcast.hpp"
#include <tapegrad/ops/ops.hpp>

namespace tg {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  // Same shapes (most element-wise ops): nothing to broadcast, and a valid
  // Shape's size was checked when it was made.
  if (a == b) return a;
  const int nd = std::max(a.size(), b.size());
  std::int64_t out[Shape::kMaxDims];  // inline: no allocation on the per-op path
  for (int i = 0; i < nd; ++i) {
    const int ia = i - (nd - a.size()), ib = i - (nd - b.size());
    const std::int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1)
      detail::fail(op, ": shapes ", a.str(), " and ", b.str(), " cannot be broadcast together (", da,
                   " vs ", db, " in dimension ", i - nd, ")");
    out[i] = da == 1 ? db : da;
  }
  // [2^40, 1] and [1, 2^40] are each valid, their broadcast is not.
  if (const char* problem = detail::shape_size_problem(out, out + nd))
    detail::fail(op, ": shapes ", a.str(), " and ", b.str(), " broadcast to ", detail::extents_str(out, out + nd),
                 ", which ", problem);
  return Shape(out, out + nd);
}

namespace detail {

BroadcastPlan make_broadcast_plan(const Shape& a, const Shape& b, const Shape& out) {
  const int nd = out.size();
  // Per-dimension strides of a and b in the output's coordinates (0 = broadcast).
  std::int64_t sa[Shape::kMaxDims] = {}, sb[Shape::kMaxDims] = {};
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
    if (plan.ndim > 0) {
      const std::int64_t e = out[i];
      const int last = plan.ndim - 1;
      if (plan.stride_a[last] == sa[i] * e && plan.stride_b[last] == sb[i] * e) {
        plan.extent[last] *= e;
        plan.stride_a[last] = sa[i];
        plan.stride_b[last] = sb[i];
        continue;
      }
    }
    plan.extent[plan.ndim] = out[i];
    plan.stride_a[plan.ndim] = sa[i];
    plan.stride_b[plan.ndim] = sb[i];
    ++plan.ndim;
  }
  return plan;
}

}  // namespace detail
}  // namespace tg
