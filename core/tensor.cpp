// Tensor handle, Shape, and the non-random factories.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>

#include "core/checked_math.hpp"
#include "core/dispatch.hpp"
#include "core/engine.hpp"
#include "core/tensor_impl.hpp"
#include <tapegrad/core/autograd.hpp>

namespace tg {

using detail::fail;

// ---------------------------------------------------------------------------
// Shape
// ---------------------------------------------------------------------------
Shape::Shape(std::initializer_list<std::int64_t> dims) {
  for (auto d : dims) append(d);
  check_size();
}

Shape::Shape(const std::vector<std::int64_t>& dims) {
  for (auto d : dims) append(d);
  check_size();
}

void Shape::append(std::int64_t d) {
  if (ndim_ == kMaxDims) fail("Shape: at most ", kMaxDims, " dimensions are supported");
  if (d < 0) fail("Shape: negative extent ", d);
  dims_[ndim_++] = d;
}

void Shape::check_size() const {
  if (const char* problem = detail::shape_size_problem(begin(), end())) fail("Shape: ", str(), " ", problem);
}

void Shape::push_back(std::int64_t d) {
  append(d);
  try {
    check_size();
  } catch (...) {
    --ndim_;  // leave the shape as it was
    throw;
  }
}

void Shape::set(int i, std::int64_t extent) {
  if (extent < 0) fail("Shape: negative extent ", extent);
  const std::int64_t before = dims_[i];
  dims_[i] = extent;
  try {
    check_size();
  } catch (...) {
    dims_[i] = before;
    throw;
  }
}

std::int64_t Shape::at(int i) const {
  return dims_[normalize_axis(i, ndim_, "Shape::at")];
}

// Both products are bounded by the class invariant (check_size): no overflow.
std::int64_t Shape::numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < ndim_; ++i) n *= dims_[i];
  return n;
}

std::vector<std::int64_t> Shape::strides() const {
  std::vector<std::int64_t> s(ndim_);
  std::int64_t acc = 1;
  for (int i = ndim_ - 1; i >= 0; --i) {
    s[i] = acc;
    acc *= dims_[i];
  }
  return s;
}

bool Shape::operator==(const Shape& o) const {
  return ndim_ == o.ndim_ && std::equal(begin(), end(), o.begin());
}

std::string Shape::str() const { return detail::extents_str(begin(), end()); }

namespace detail {

std::string extents_str(const std::int64_t* first, const std::int64_t* last) {
  std::string s = "[";
  for (const std::int64_t* p = first; p != last; ++p) {
    if (p != first) s += ',';
    s += std::to_string(*p);
  }
  return s + "]";
}

const char* shape_size_problem(const std::int64_t* first, const std::int64_t* last) {
  std::int64_t product = 1;
  bool has_zero = false;
  for (const std::int64_t* p = first; p != last; ++p) {
    if (*p == 0) {
      has_zero = true;
      continue;
    }
    const auto next = checked_product(product, *p);
    if (!next) {
      // A wrapped-around count would make a tensor whose storage is smaller than its shape.
      return has_zero || std::find(p, last, 0) != last
                 ? "is too large: its extents other than 0 multiply to more than 2^63 - 1"
                 : "has more than 2^63 - 1 elements";
    }
    product = *next;
  }
  return nullptr;
}

}  // namespace detail

int normalize_axis(int axis, int ndim, const char* op) {
  int a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= std::max(ndim, 1))
    fail(op, ": axis ", axis, " is out of range for a tensor with ", ndim, " dimensions");
  return a;
}

const char* dtype_name(Dtype d) {
  switch (d) {
    case Dtype::Float32: return "float32";
    case Dtype::Float64: return "float64";
    case Dtype::Int64: return "int64";
  }
  return "?";
}

// ---------------------------------------------------------------------------
// detail
// ---------------------------------------------------------------------------
void throw_dtype_mismatch(const char* what, Dtype have, Dtype want) {
  detail::fail(what, ": tensor has dtype ", dtype_name(have), ", accessed as ", dtype_name(want));
}

namespace detail {

void check_defined(const Tensor& t, const char* op) {
  if (!t.defined()) fail(op, ": got an undefined tensor");
}

void check_floating(const Tensor& t, const char* op) {
  check_defined(t, op);
  if (!is_floating(t.dtype()))
    fail(op, ": expected a float32 or float64 tensor, got ", describe(t),
         " (int64 tensors hold labels and indices; convert with .to(tg::kFloat32))");
}

Tensor make_tensor(const Shape& shape, Dtype dtype) {
  const std::int64_t n = shape.numel();
  // Bounded so that the byte count (and the allocator's rounding of it) cannot wrap around.
  if (n > std::numeric_limits<std::ptrdiff_t>::max() / static_cast<std::int64_t>(element_size(dtype)))
    fail("cannot create a tensor of shape ", shape.str(), " ", dtype_name(dtype), ": its size in bytes overflows");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = allocate_storage(static_cast<std::size_t>(n) * element_size(dtype));
  impl->storage->inference = InferenceMode::is_enabled();
  impl->shape = shape;
  impl->dtype = dtype;
  return TensorImpl::wrap(std::move(impl));
}

Tensor make_view(const Tensor& base, const Shape& shape, std::int64_t offset_elems) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = TensorImpl::of(base).storage;
  impl->offset_bytes = TensorImpl::of(base).offset_bytes + offset_elems * element_size(base.dtype());
  impl->shape = shape;
  impl->dtype = base.dtype();
  std::shared_ptr<TensorImpl> root = TensorImpl::of(base).view_base.lock();
  impl->view_base = root ? root : TensorImpl::ptr(base);
  return TensorImpl::wrap(std::move(impl));
}

}  // namespace detail

// ---------------------------------------------------------------------------
// Tensor: metadata and element access
// ---------------------------------------------------------------------------
namespace {
const TensorImpl& impl_of(const Tensor& t, const char* what) {
  if (!t.defined()) fail(what, ": the tensor is undefined");
  return TensorImpl::of(t);
}
}  // namespace

const Shape& Tensor::shape() const { return impl_of(*this, "Tensor::shape").shape; }
std::int64_t Tensor::size(int axis) const { return shape().at(axis); }
int Tensor::dim() const { return shape().size(); }
std::int64_t Tensor::numel() const { return shape().numel(); }
Dtype Tensor::dtype() const { return impl_of(*this, "Tensor::dtype").dtype; }
void* Tensor::raw_data() { return impl_of(*this, "Tensor::data").data(); }
const void* Tensor::raw_data() const { return impl_of(*this, "Tensor::data").data(); }

double Tensor::item() const {
  if (numel() != 1)
    fail("Tensor::item: the tensor has ", numel(), " elements ", shape().str(), "; item() needs exactly one");
  return detail::dispatch_all(dtype(), [&](auto tag) {
    using T = decltype(tag);
    return static_cast<double>(*static_cast<const T*>(raw_data()));
  });
}

template <class T> std::vector<T> Tensor::to_vector() const {
  const std::int64_t n = numel();
  std::vector<T> out(static_cast<std::size_t>(n));
  detail::dispatch_all(dtype(), [&](auto tag) {
    using S = decltype(tag);
    const S* p = static_cast<const S*>(raw_data());
    for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(p[i]);
  });
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<std::int64_t> Tensor::to_vector<std::int64_t>() const;
template std::vector<int> Tensor::to_vector<int>() const;

// ---------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------
namespace {
// True when x converts to int64 without undefined behaviour (finite, inside [-2^63, 2^63)).
bool fits_int64(double x) { return std::isfinite(x) && x >= -9223372036854775808.0 && x < 9223372036854775808.0; }

template <class S, class D> bool overlaps(const S* s, std::int64_t ns, const D* d, std::int64_t nd) {
  const auto* sb = reinterpret_cast<const char*>(s);
  const auto* db = reinterpret_cast<const char*>(d);
  return sb < db + nd * static_cast<std::int64_t>(sizeof(D)) && db < sb + ns * static_cast<std::int64_t>(sizeof(S));
}

void convert(const Tensor& src, Tensor& dst) {
  const std::int64_t n = src.numel();
  detail::dispatch_all(src.dtype(), [&](auto stag) {
    using S = decltype(stag);
    detail::dispatch_all(dst.dtype(), [&](auto dtag) {
      using D = decltype(dtag);
      const S* s = static_cast<const S*>(src.raw_data());
      D* d = static_cast<D*>(dst.raw_data());
      if constexpr (std::is_same_v<S, D>) {
        // memmove: src and dst may be overlapping views of one storage.
        std::memmove(d, s, static_cast<std::size_t>(n) * sizeof(S));
      } else {
        if constexpr (std::is_integral_v<D> && !std::is_integral_v<S>) {
          // A float that int64 cannot hold (NaN, inf, |x| >= 2^63) would be undefined behaviour.
          for (std::int64_t i = 0; i < n; ++i)
            if (!fits_int64(static_cast<double>(s[i])))
              detail::fail("converting to int64: element ", i, " is ", s[i], ", which int64 cannot hold");
        }
        if (static_cast<const void*>(s) == static_cast<const void*>(d) || overlaps(s, n, d, n)) {
          std::vector<D> tmp(static_cast<std::size_t>(n));
          for (std::int64_t i = 0; i < n; ++i) tmp[i] = static_cast<D>(s[i]);
          std::copy(tmp.begin(), tmp.end(), d);
        } else {
          for (std::int64_t i = 0; i < n; ++i) d[i] = static_cast<D>(s[i]);
        }
      }
    });
  });
}
}  // namespace

Tensor Tensor::to(Dtype target) const {
  detail::check_defined(*this, "Tensor::to");
  if (target == dtype()) return *this;
  Tensor out = detail::make_tensor(shape(), target);
  convert(*this, out);
  if (is_floating(target) && is_floating(dtype()) && autograd::needs_grad(*this)) {
    const Dtype source = dtype();
    autograd::record("to", {*this}, out, autograd::formulas([source](const Tensor& gy) { return gy.to(source); }));
  }
  return out;
}

Tensor Tensor::clone() const {
  detail::check_defined(*this, "Tensor::clone");
  Tensor out = detail::make_tensor(shape(), dtype());
  convert(*this, out);
  if (autograd::needs_grad(*this))
    autograd::record("clone", {*this}, out, autograd::formulas([](const Tensor& gy) { return gy; }));
  return out;
}

Tensor Tensor::detach() const {
  detail::check_defined(*this, "Tensor::detach");
  // Shares the storage, as in PyTorch, but is no view for autograd: changing it
  // in place is allowed (and bumps the version its base's saved copies check).
  Tensor out = detail::make_view(*this, shape());
  TensorImpl::of(out).view_base.reset();
  return out;
}

// ---------------------------------------------------------------------------
// Autograd state
// ---------------------------------------------------------------------------
bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }
bool Tensor::is_leaf() const { return !impl_ || !impl_->grad_fn; }

Tensor& Tensor::requires_grad_(bool on) {
  auto& im = impl_of(*this, "Tensor::requires_grad_");
  if (!is_leaf())
    fail("Tensor::requires_grad_: only leaf tensors can be marked; this one was produced by '",
         im.grad_fn->name(), "' (use .detach() to make a new leaf)");
  if (on && !is_floating(im.dtype))
    fail("Tensor::requires_grad_: only float32/float64 tensors can require grad, got ", describe(*this));
  impl_->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return impl_of(*this, "Tensor::grad").grad; }
void Tensor::set_grad(const Tensor& g) {
  impl_of(*this, "Tensor::set_grad");
  if (g.defined() && g.shape() != shape())
    fail("Tensor::set_grad: gradient shape ", g.shape().str(), " differs from tensor shape ", shape().str());
  impl_->grad = g;
}
void Tensor::zero_grad() {
  if (impl_) impl_->grad = Tensor();
}

void Tensor::retain_grad() {
  auto& im = impl_of(*this, "Tensor::retain_grad");
  if (!im.requires_grad) fail("Tensor::retain_grad: the tensor does not require grad");
  if (!is_leaf()) autograd::retain_output_grad(*this);
}

std::shared_ptr<autograd::Node> Tensor::grad_fn() const { return impl_ ? impl_->grad_fn : nullptr; }

void Tensor::backward(std::optional<bool> retain_graph, bool create_graph) const {
  backward(Tensor(), retain_graph, create_graph);
}

void Tensor::backward(const Tensor& gradient, std::optional<bool> retain_graph, bool create_graph) const {
  if (!defined()) fail("Tensor::backward: the tensor is undefined");
  Tensor seed = gradient;
  if (!seed.defined()) {
    if (numel() != 1)
      fail("Tensor::backward: grad can be implicitly created only for one-element outputs; this one is ",
           describe(*this), ". Pass a gradient of the same shape: t.backward(grad)");
    seed = ones(shape(), dtype());
  }
  autograd::run_backward(*this, seed, retain_graph.value_or(create_graph), create_graph);
}

// ---------------------------------------------------------------------------
// In-place helpers (never recorded)
// ---------------------------------------------------------------------------
Tensor& Tensor::fill_(double value) {
  impl_of(*this, "Tensor::fill_");
  if (requires_grad() && GradMode::is_enabled())
    fail("Tensor::fill_: in-place change of a tensor that requires grad; wrap it in tg::NoGradGuard");
  autograd::check_inplace_view(*this, "Tensor::fill_", {});
  if (dtype() == kInt64 && !fits_int64(value))
    fail("Tensor::fill_: ", value, " cannot be stored in the int64 tensor ", describe(*this));
  const std::int64_t n = numel();
  detail::dispatch_all(dtype(), [&](auto tag) {
    using T = decltype(tag);
    std::fill_n(static_cast<T*>(raw_data()), n, static_cast<T>(value));
  });
  bump_version();
  return *this;
}

void Tensor::set_data(const Tensor& src, Dtype dtype) {
  auto& im = const_cast<TensorImpl&>(impl_of(*this, "Tensor::set_data"));
  detail::check_defined(src, "Tensor::set_data");
  if (!is_floating(dtype)) fail("Tensor::set_data: expected float32 or float64, got ", dtype_name(dtype));
  if (src.shape() != shape())
    fail("Tensor::set_data: source shape ", src.shape().str(), " differs from destination shape ", shape().str());
  if (!is_leaf()) fail("Tensor::set_data: only leaf tensors can have their data replaced, got ", describe(*this));
  Tensor converted = src.detach().to(dtype);
  if (converted.is_same(src) || TensorImpl::of(converted).storage == TensorImpl::of(src).storage)
    converted = converted.clone();  // never alias the source's buffer
  const TensorImpl& from = TensorImpl::of(converted);
  // The new buffer continues the old one's count, one change further on: a
  // backward that saved this tensor sees that its data was replaced.
  from.storage->version.store(im.storage->version.load() + 1);
  im.storage = from.storage;
  im.offset_bytes = from.offset_bytes;
  im.dtype = dtype;
  im.grad = Tensor();
}

Tensor& Tensor::copy_(const Tensor& src) {
  autograd::check_inplace(*this, "Tensor::copy_", {src});
  detail::check_defined(src, "Tensor::copy_");
  if (src.shape() != shape())
    fail("Tensor::copy_: source shape ", src.shape().str(), " differs from destination shape ", shape().str());
  convert(src, *this);
  bump_version();
  // The old values are overwritten: they get a zero gradient, src gets all of it.
  if (autograd::needs_grad(*this, src))
    autograd::record_inplace("copy_", *this, {src}, autograd::formulas(
        [](const Tensor& gy) { return zeros_like(gy); },
        [](const Tensor& gy) { return gy; }));
  return *this;
}

std::uint64_t Tensor::version() const { return impl_of(*this, "Tensor::version").storage->version.load(); }

void Tensor::bump_version() {
  detail::Storage& storage = *impl_of(*this, "Tensor::bump_version").storage;
  if (!storage.inference) storage.version.fetch_add(1);
}

bool Tensor::is_inference() const { return impl_of(*this, "Tensor::is_inference").storage->inference; }

// ---------------------------------------------------------------------------
// Factories
// ---------------------------------------------------------------------------
Tensor empty(const Shape& shape, Dtype dtype) { return detail::make_tensor(shape, dtype); }

Tensor full(const Shape& shape, double value, Dtype dtype) {
  Tensor t = detail::make_tensor(shape, dtype);
  NoGradGuard no_grad;
  t.fill_(value);
  return t;
}
Tensor zeros(const Shape& shape, Dtype dtype) { return full(shape, 0.0, dtype); }
Tensor ones(const Shape& shape, Dtype dtype) { return full(shape, 1.0, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor scalar_tensor(double value, Dtype dtype) { return full(Shape{}, value, dtype); }

Tensor tensor(const std::vector<double>& values, const Shape& shape, Dtype dtype) {
  if (static_cast<std::int64_t>(values.size()) != shape.numel())
    fail("tensor: ", values.size(), " values do not fill shape ", shape.str(), " (", shape.numel(),
         " elements)");
  if (dtype == kInt64)
    for (std::size_t i = 0; i < values.size(); ++i)
      if (!fits_int64(values[i])) fail("tensor: value ", i, " is ", values[i], ", which int64 cannot hold");
  Tensor t = detail::make_tensor(shape, dtype);
  detail::dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(t.raw_data());
    for (std::size_t i = 0; i < values.size(); ++i) p[i] = static_cast<T>(values[i]);
  });
  return t;
}

Tensor tensor(const std::vector<double>& values, Dtype dtype) {
  return tensor(values, Shape{static_cast<std::int64_t>(values.size())}, dtype);
}

Tensor tensor_i64(const std::vector<std::int64_t>& values, const Shape& shape) {
  if (static_cast<std::int64_t>(values.size()) != shape.numel())
    fail("tensor_i64: ", values.size(), " values do not fill shape ", shape.str());
  Tensor t = detail::make_tensor(shape, kInt64);
  std::copy(values.begin(), values.end(), t.data<std::int64_t>());
  return t;
}

Tensor arange(std::int64_t end, Dtype dtype) { return arange(0.0, static_cast<double>(end), 1.0, dtype); }

Tensor arange(double start, double end, double step, Dtype dtype) {
  if (step == 0 || !std::isfinite(step)) fail("arange: step must be finite and non-zero, got ", step);
  const double span = (end - start) / step;
  const std::int64_t n = span > 0 ? static_cast<std::int64_t>(std::ceil(span)) : 0;
  Tensor t = detail::make_tensor(Shape{n}, dtype);
  detail::dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(t.raw_data());
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return t;
}

std::string describe(const Tensor& t) {
  if (!t.defined()) return "undefined";
  return t.shape().str() + " " + dtype_name(t.dtype());
}

}  // namespace tg
