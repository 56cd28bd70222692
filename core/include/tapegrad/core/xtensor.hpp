// tapegrad — optional interop with xtensor (header-only; link tapegrad::xtensor).
//
// @code
//   xt::xarray<float> a = {{1, 2}, {3, 4}};
//   tg::Tensor t = tg::from_xtensor(a);          // copies into tapegrad storage
//   auto v = tg::as_xtensor<float>(t);            // zero-copy view of t's buffer
//   v(0, 1) = 5;                                  // writes into t
// @endcode
//
// The view is valid while the tensor (or another handle to its storage) lives.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include <tapegrad/core/tensor.hpp>

namespace tg {

/// A zero-copy, row-major xtensor view of t's elements (T must match t.dtype()).
template <class T> auto as_xtensor(Tensor& t) {
  std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
  return xt::adapt(t.data<T>(), static_cast<std::size_t>(t.numel()), xt::no_ownership(), shape);
}

/// A tensor holding a copy of any xtensor expression's values.
template <class E> Tensor from_xtensor(const xt::xexpression<E>& expr) {
  using T = typename E::value_type;
  xt::xarray<T> a = expr.derived_cast();  // evaluate once, row-major
  Shape shape(a.shape().begin(), a.shape().end());
  Tensor t = empty(shape, dtype_of<T>());
  std::copy(a.data(), a.data() + a.size(), t.data<T>());
  return t;
}

}  // namespace tg
