// Classic image filters (blur, sharpen, edges, template matching), as
// compositions of conv2d and core ops: each is differentiable through those
// ops' backward rules, and runs the same im2col + gemm kernel as a conv layer.
// The filters are declared at the bottom (composites: samples and error inputs only).
#include "core/checked_math.hpp"
#include "core/dispatch.hpp"
#include "ops/declarations.hpp"
#include <tapegrad/ops/image.hpp>
#include <tapegrad/ops/ops.hpp>
#include <tapegrad/ops/vision.hpp>

namespace tg::image {
namespace {

void check_matrix(const Tensor& t, const char* op, const char* what) {
  detail::check_floating(t, op);
  if (t.dim() != 2) detail::fail(op, ": expects the ", what, " as a matrix [H,W], got ", t.shape().str());
}

// A matrix [H,W] as a one-image, one-channel batch [1,1,H,W] (a view).
Tensor as_batch(const Tensor& m) { return reshape(m, {1, 1, m.size(0), m.size(1)}); }

}  // namespace

Tensor conv_matrix(const Tensor& matrix, const Tensor& kernel) {
  check_matrix(matrix, "conv_matrix", "input");
  check_matrix(kernel, "conv_matrix", "kernel");
  if (kernel.size(0) % 2 == 0 || kernel.size(1) % 2 == 0)
    detail::fail("conv_matrix: kernel ", kernel.shape().str(), " must have odd sizes (2p+1)x(2q+1)");
  const auto [m, k] = detail::promote_floating(matrix, kernel, "conv_matrix");
  // Padding p = KH/2, q = KW/2 keeps the size: Y[i,j] = sum K[a,b] X[i+a-p, j+b-q].
  Tensor y = conv2d(as_batch(m), as_batch(k), Tensor(), 1, Padding(k.size(0) / 2, k.size(1) / 2));
  return reshape(y, {m.size(0), m.size(1)});
}

Tensor box_blur(const Tensor& image, std::int64_t box_size) {
  check_matrix(image, "box_blur", "image");
  if (box_size <= 0) detail::fail("box_blur: box_size must be positive, got ", box_size);
  // The divisor box_size^2 must not wrap around (a kernel that large holds no real image anyway).
  if (!detail::checked_product(box_size, box_size))
    detail::fail("box_blur: box_size ", box_size, " is too large: its square overflows 64-bit integers");
  // Sum with a kernel of ones, then divide once: exact for integer-valued images
  // (a 1/9 kernel would round 9 times). "same" also serves even box sizes.
  Tensor ones_kernel = ones({1, 1, box_size, box_size}, image.dtype());
  Tensor sums = conv2d(as_batch(image), ones_kernel, Tensor(), 1, "same");
  return reshape(sums, {image.size(0), image.size(1)}) / static_cast<double>(box_size * box_size);
}

Tensor gradient_amplitude(const Tensor& image) {
  check_matrix(image, "gradient_amplitude", "image");
  // Both derivative kernels in one conv2d: filter 0 is [-1 0 1] (horizontal),
  // filter 1 its transpose (vertical), each embedded in a 3x3 kernel.
  Tensor kernels = tensor({0, 0, 0, -1, 0, 1, 0, 0, 0,  //
                           0, -1, 0, 0, 0, 0, 0, 1, 0},
                          {2, 1, 3, 3}, image.dtype());
  Tensor d = conv2d(as_batch(image), kernels, Tensor(), 1, 1);  // [1,2,H,W]: Xh, Xv
  return reshape(sqrt(sum(d * d, {1})), {image.size(0), image.size(1)});
}

Tensor sharpen_kernel() { return tensor({0, -1, 0, -1, 5, -1, 0, -1, 0}, {3, 3}); }

Tensor edge_kernel() { return tensor({-1, -1, -1, -1, 8, -1, -1, -1, -1}, {3, 3}); }

std::pair<std::int64_t, std::int64_t> find_pattern(const Tensor& image, const Tensor& pattern, Tensor* response) {
  Tensor r = conv_matrix(image, pattern);
  if (response) *response = r;
  if (r.numel() == 0) detail::fail("find_pattern: the image ", image.shape().str(), " is empty");
  const std::int64_t flat = argmax(reshape(r.detach(), {-1}), 0).item<std::int64_t>();  // first maximum
  return {flat / r.size(1), flat % r.size(1)};
}

}  // namespace tg::image

namespace tg {

// ---------------------------------------------------------------------------
// Declarations: the Tensor -> Tensor filters (the kernels take no tensor and
// find_pattern returns a position).
// ---------------------------------------------------------------------------
std::vector<OpInfo> image_op_declarations() {
  using inputs::any;
  return {
      OpInfo("image::conv_matrix")
          .composite_of_other_ops()
          .sample("[5,6] with a 3x5 kernel", {any({5, 6}), any({3, 5})},
                  [](const OpArgs& v) { return image::conv_matrix(v[0], v[1]); })
          .error("an even kernel", [] { image::conv_matrix(ones({3, 3}), ones({2, 2})); },
                 {"conv_matrix: kernel [2,2] must have odd sizes"})
          .error("a 3-D input", [] { image::conv_matrix(ones({1, 3, 3}), ones({3, 3})); },
                 {"conv_matrix: expects the input as a matrix [H,W], got [1,3,3]"}),
      OpInfo("image::box_blur")
          .composite_of_other_ops()
          .sample("3x3 box", {any({5, 4})}, [](const OpArgs& v) { return image::box_blur(v[0], 3); })
          .sample("2x2 box ('same' padding at the bottom/right)", {any({4, 5})},
                  [](const OpArgs& v) { return image::box_blur(v[0], 2); })
          .error("box_size 0", [] { image::box_blur(ones({3, 3}), 0); },
                 {"box_blur: box_size must be positive, got 0"}),
      // Positive pixels keep the amplitude away from 0, where sqrt has no finite gradient.
      OpInfo("image::gradient_amplitude")
          .composite_of_other_ops()
          .sample("5x5, positive", {inputs::positive({5, 5})},
                  [](const OpArgs& v) { return image::gradient_amplitude(v[0]); })
          .error("a 1-D image", [] { image::gradient_amplitude(ones({3})); }, {"gradient_amplitude"}),
  };
}

}  // namespace tg
