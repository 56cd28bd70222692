// tapegrad's optional xtensor interop as another project uses it: link
// tapegrad::xtensor and include <tapegrad/core/xtensor.hpp>.
#include <cstdio>

#include <xtensor/xarray.hpp>

#include <tapegrad/core/xtensor.hpp>
#include <tapegrad/tapegrad.hpp>

int main() {
  const xt::xarray<float> a = {{1, 2, 3}, {4, 5, 6}};
  tg::Tensor t = tg::from_xtensor(a);  // a copy: [2,3] float32
  const double doubled = tg::sum(t * 2.0).item();
  auto view = tg::as_xtensor<float>(t);  // no copy: writes land in t
  view(0, 1) = 10;
  const double after = tg::sum(t).item();
  std::printf("tapegrad %s with xtensor: shape %s, sum*2 %.0f, sum after a write through the view %.0f\n",
              tg::version(), t.shape().str().c_str(), doubled, after);
  return t.shape() == tg::Shape{2, 3} && doubled == 42 && after == 29 && a(0, 1) == 2 ? 0 : 1;
}
