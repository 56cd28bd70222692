// tapegrad's convolution engine: register-blocked xsimd micro-kernels for the
// three products of conv2d (see conv_engine.hpp), fed either by implicit GEMM
// (stride 1: the kernels read a zero-padded copy of one image through a table of
// row offsets, see "implicit GEMM" below) or by an im2col matrix built one image
// (or a few small images) at a time into a buffer that stays in L2.
//
// Why not OpenBLAS here: for conv shapes the gemms are thin (the benchmark layer
// is [32,144]·[144,784] per image, LeNet's second conv [16,150]·[150,64]) and
// there are N of them per step. OpenBLAS re-packs both operands on every call
// and, on a CPU its table does not know, runs its generic SSE3 kernels (issue
// 14: 24 GFLOP/s on an AVX-512 Xeon). These kernels pack only the weights, once
// per conv call, and read the image (or column matrix) in place.
//
// Blocking (V = one SIMD register: 16 floats with AVX-512, 8 with AVX2, 4 with
// SSE2; the kernels are in conv_engine_simd.hpp):
// - forward and input gradient, C = A·B: an MR x 2V tile of C lives in registers
//   (MR = 8 with AVX-512's 32 registers: 16 accumulators + 2 B vectors + 1
//   broadcast; MR = 6 with AVX2's 16). Per k: two unaligned loads of B's row,
//   MR broadcasts of packed A, 2*MR FMAs: FMA-bound, not load-bound (2 loads per
//   cycle). The j-loop is outside the panel loop, so the K x 2V slice of B
//   (18 KB at K = 144) is read from L1 by every panel of A. Bias is the tile's
//   initial value (fused: no second pass over y). Measured 150-160 GFLOP/s on
//   one core of a 2.6 GHz AVX-512 Xeon (peak 166): the forward is at the roof.
// - weight gradient, C[F,K] += A[F,L]·B[K,L]ᵀ with L the pixels of several
//   images: dot products along L, a 4 x 6 block of accumulators (AVX-512; 2 x 4
//   with AVX2), each one vector wide, summed across lanes once per block. The
//   k-block's 6 rows of B (6 x ~1024 floats = 24 KB) stay in L1 while every
//   f-block streams A from L2. Small images are folded side by side (about
//   kFoldColumns pixels per fold) so the reduction is long enough for the
//   horizontal sums not to matter: this is where the batch enters the product.
//   ~110-120 GFLOP/s; 8 x 3, 6 x 4, 3 x 8 blocks, other fold sizes and the other
//   loop order measured the same on that layer (the block shape is now chosen per
//   call to pad the F x K grid least: LeNet-5's 6 x 25 as 6 x 4 blocks). This
//   dot-product form is the fallback: where C/groups fills whole vectors, or whole
//   kernel rows nearly do, the weight gradient is an outer product on a
//   channels-last copy of each image ("the weight gradient from channels-last
//   images" below), at the forward's rate.
// Threads: the batch is split into one slice per thread (own scratch, own weight
// and bias partial sums added in slice order, so results do not depend on timing).
//
// Instruction set, chosen at run time. The kernels (micro-kernels, packing,
// everything whose block sizes follow the vector width) are one template body,
// conv_engine_simd.hpp, compiled three times: conv_engine_avx512.cpp with
// -mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma, conv_engine_avx2.cpp
// with -mavx2 -mfma, conv_engine_generic.cpp on SSE2 (flags per source file in
// CMakeLists.txt). Each yields a table of function pointers (EngineIsaKernels,
// conv_engine_kernels.hpp); engine_isa() picks one on first use from CPUID, or
// from TAPEGRAD_ISA=avx512|avx2|generic, which is refused when unknown or when
// the CPU lacks it. So one build (even -DTAPEGRAD_NATIVE=OFF) runs AVX-512 tiles
// on AVX-512 CPUs and AVX2 tiles on the others, Intel or AMD.
// The trap this layout avoids: an inline function or template that two
// translation units both emit out of line (std::vector<float>'s members,
// std::min<long>, xsimd's CPUID helpers) is one weak symbol, and the linker keeps
// one copy for the whole program. Were the AVX-512 file to emit such a copy, the
// AVX2 or generic path -- or this file -- could call it and die of an illegal
// instruction on a CPU without AVX-512. Hence: the per-ISA files hold only
// internal-linkage code and arch-templated xsimd calls, no std containers or
// algorithms; all the rest -- scratch buffers, threads, thresholds, offset
// tables, the choice itself (__builtin_cpu_supports, not xsimd's inline CPUID
// code) -- lives here, compiled with the library's normal flags. `nm -C` on the
// three objects lists only their table and functions of their own arch.
#include "ops/kernels/conv_engine.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "core/parallel.hpp"
#include "core/tensor_impl.hpp"
#include "ops/kernels/conv_engine_kernels.hpp"
#include "ops/kernels/row_sum.hpp"
#include <tapegrad/core/parallel.hpp>
#include <tapegrad/ops/config.hpp>

namespace tg::detail {
namespace {

std::atomic<ConvEngine> engine_mode{ConvEngine::Auto};

// Pixels per weight-gradient fold (images side by side): 6 rows of it fit L1.
constexpr std::int64_t kFoldColumns = 1024;
// As in conv2d.cpp: below this many multiply-adds waking the pool costs more than it saves.
constexpr std::int64_t kParallelMacs = std::int64_t{1} << 20;

std::int64_t round_up(std::int64_t v, std::int64_t m) { return (v + m - 1) / m * m; }

template <class T> struct Scratch {
  Tensor storage;
  T* data = nullptr;
  std::int64_t size = 0;
  explicit Scratch(std::int64_t n) : size(std::max<std::int64_t>(n, 0)) {
    if (n <= 0) return;
    storage = make_tensor(Shape{n}, dtype_of<T>());
    data = static_cast<T*>(storage.raw_data());
  }
  Scratch& zeroed() {
    std::fill(data, data + size, T(0));
    return *this;
  }
};

// ---- the instruction set -------------------------------------------------------
// How engine_isa() was decided, for config().
enum class IsaReason { Cpu, Environment, Program };
constexpr int kUnchosen = -1;
std::atomic<int> chosen_isa{kUnchosen};  // an EngineIsa once chosen
std::atomic<IsaReason> isa_reason{IsaReason::Cpu};

std::string lower_trimmed(const char* value) {
  std::string s = value ? value : "";
  const auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  s = b == std::string::npos ? "" : s.substr(b, e - b + 1);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool supports(EngineIsa isa, const IsaSupport& cpu) {
  return isa == EngineIsa::Generic || (isa == EngineIsa::Avx2 && cpu.avx2) || (isa == EngineIsa::Avx512 && cpu.avx512);
}

EngineIsa best_isa(const IsaSupport& cpu) {
  return cpu.avx512 ? EngineIsa::Avx512 : cpu.avx2 ? EngineIsa::Avx2 : EngineIsa::Generic;
}

const EngineIsaKernels& isa_kernels(EngineIsa isa) {
#if defined(__x86_64__) || defined(__i386__)
  if (isa == EngineIsa::Avx512) return kEngineAvx512Kernels;
  if (isa == EngineIsa::Avx2) return kEngineAvx2Kernels;
#endif
  return kEngineGenericKernels;
}

// The kernels of engine_isa(). Each conv call takes them once, so one call never
// mixes the packing of one instruction set with the products of another.
const EngineIsaKernels& current_kernels() { return isa_kernels(engine_isa()); }
template <class T> const EngineKernels<T>& current() { return kernels_of<T>(current_kernels()); }

// engine_gemm with the kernels k. The scratch for a last partial vector of
// columns is allocated here, in normally compiled code (see the top of the file).
template <class T>
void run_gemm(const EngineKernels<T>& k, std::int64_t M, std::int64_t N, std::int64_t K, const T* packed_a,
              const T* b, std::int64_t ldb, T* c, std::int64_t ldc, const T* bias, bool accumulate) {
  std::vector<T> tail(N % k.lanes != 0 ? K * k.lanes : 0);
  k.gemm(M, N, K, packed_a, b, ldb, c, ldc, bias, accumulate, tail.data());
}

// engine_gemm_abt with the kernels k: one segment, B's rows ldb apart.
template <class T>
void run_gemm_abt(const EngineKernels<T>& k, std::int64_t M, std::int64_t N, std::int64_t L, const T* a,
                  std::int64_t lda, const T* b, std::int64_t ldb, T* c, std::int64_t ldc) {
  std::vector<std::int64_t> offsets(N);
  for (std::int64_t n = 0; n < N; ++n) offsets[n] = n * ldb;
  k.gemm_abt(M, N, L, 1, &a, lda, &b, offsets.data(), c, ldc);
}

// Slices of the batch run concurrently (each image's products are independent).
std::int64_t engine_chunks(const ConvGeometry& g) {
  const std::int64_t threads = get_num_threads();
  if (threads < 2 || g.batch < 2 || in_parallel_region()) return 1;
  if (g.batch * g.filters * g.out_plane() * g.patch_size() < kParallelMacs) return 1;
  return std::min(threads, g.batch);
}

template <class Body> void for_each_slice(std::int64_t batch, std::int64_t chunks, const Body& body) {
  if (chunks <= 1) {
    body(0, 0, batch);
    return;
  }
  parallel_for(chunks, 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t c = first; c < last; ++c) body(c, batch * c / chunks, batch * (c + 1) / chunks);
  });
}

// ---- implicit GEMM (stride 1) ---------------------------------------------------
// With stride 1, row (c,kh,kw) of the column matrix is channel c of the image,
// padded once, shifted by kh*dh rows and kw*dw columns -- provided the output is
// computed on the padded width wp: output pixel (oh, ow) sits at column oh*wp + ow
// and the wp - OW columns after each output row are junk that is computed and
// dropped. So the micro-kernels read B straight from one padded copy of the image
// through a table of row offsets, and no im2col matrix is built (im2col + its
// memory traffic was ~60% of LeNet-5's second conv). The price is the junk
// columns: cols / P, 1.07 for 28x28 "same" 3x3, 1.44 for LeNet's 8x8 outputs.
struct Implicit {
  std::int64_t hp = 0, wp = 0;  // padded plane
  std::int64_t cols = 0;        // wide columns that hold outputs: (OH-1)*wp + OW
  std::int64_t width = 0;       // cols rounded up to whole vectors: what the kernels compute
  std::int64_t image = 0;       // one padded image's buffer, with slack for reads up to `width`
  std::vector<std::int64_t> offsets;  // the K row offsets (c, kh, kw)
};

Implicit implicit_geometry(const ConvGeometry& g, std::int64_t lanes) {
  Implicit im;
  im.hp = g.out_h + (g.kernel_h - 1) * g.dilation_h;
  im.wp = g.out_w + (g.kernel_w - 1) * g.dilation_w;
  im.cols = (g.out_h - 1) * im.wp + g.out_w;
  im.width = round_up(im.cols, lanes);
  for (std::int64_t c = 0; c < g.group_channels(); ++c)
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh)
      for (std::int64_t kw = 0; kw < g.kernel_w; ++kw)
        im.offsets.push_back(c * im.hp * im.wp + kh * g.dilation_h * im.wp + kw * g.dilation_w);
  im.image = std::max(g.group_channels() * im.hp * im.wp, im.offsets.back() + im.width);
  return im;
}

// The group's channels of one image (x at its first channel), zero-padded into
// xp [CG, hp, wp] + slack. Only the interior is written: callers zero a buffer
// once (zeroed()) and reuse it for every image, its border staying zero.
template <class T> void pad_image(const T* x, const ConvGeometry& g, const Implicit& im, T* xp) {
  const std::int64_t run = std::min(g.in_w, im.wp - g.pad_left);
  if (run <= 0) return;
  for (std::int64_t c = 0; c < g.group_channels(); ++c)
    for (std::int64_t r = 0; r < g.in_h && r + g.pad_top < im.hp; ++r)
      copy_run(x + (c * g.in_h + r) * g.in_w, xp + (c * im.hp + r + g.pad_top) * im.wp + g.pad_left, run);
}

// Largest ratio of work (implicit / explicit product) at which the implicit path
// is taken. Measured with bench_conv_parts (one thread, Xeon model 167 AVX-512):
// forward at 1.07 (28x28 "same" 3x3) 3.1 vs 3.9 ms, at 1.44 (LeNet-5's second
// conv, 8x8 outputs) 0.17 vs 0.43 ms; input gradient at 1.31 (7x7x64) 0.81 vs
// 1.15 ms; at 3.9 (LeNet's second conv) 0.43 vs 0.35 ms, so slower.
constexpr double kImplicitWaste = 1.6;

bool use_implicit(const ConvGeometry& g) {
  if (g.stride_h != 1 || g.stride_w != 1 || g.is_pointwise()) return false;
  const ConvEngine mode = engine_mode.load();
  if (mode == ConvEngine::EngineIm2col) return false;
  if (mode == ConvEngine::EngineImplicit) return true;
  const double wp = double(g.out_w + (g.kernel_w - 1) * g.dilation_w);
  return ((g.out_h - 1) * wp + g.out_w) / double(g.out_plane()) <= kImplicitWaste;
}

// The input gradient the same way: for stride 1, gx is the correlation of gy,
// zero-padded by the kernel's span less the padding, with the flipped kernels
//   gx[c][ih][iw] = Σ_{f,kh,kw} W[f,c,kh,kw] · gyp[f][ih + (KH-1-kh)·dh][iw + (KW-1-kw)·dw]
// (gyp[f][r][s] = gy[f][r - top][s - left]): A = W seen as [C/groups, F/groups·KH·KW],
// B rows = shifted views of gyp, output on gyp's width wq. It replaces the
// Wᵀ·gy product and col2im (which writes and re-reads a K x P matrix per image);
// its reduction also covers gyp's zero border, cols / P times the product's work
// (1.07 at 28x28 "same" 3x3, 2.9 for LeNet's second conv, which keeps col2im).
struct ImplicitGrad {
  std::int64_t hq = 0, wq = 0, top = 0, left = 0, cols = 0, width = 0, image = 0;
  std::vector<std::int64_t> offsets;  // the F/groups*KH*KW row offsets (f, kh, kw)
};

ImplicitGrad implicit_grad_geometry(const ConvGeometry& g, std::int64_t lanes) {
  ImplicitGrad im;
  im.hq = g.in_h + (g.kernel_h - 1) * g.dilation_h;
  im.wq = g.in_w + (g.kernel_w - 1) * g.dilation_w;
  im.top = (g.kernel_h - 1) * g.dilation_h - g.pad_top;
  im.left = (g.kernel_w - 1) * g.dilation_w - g.pad_left;
  im.cols = (g.in_h - 1) * im.wq + g.in_w;
  im.width = round_up(im.cols, lanes);
  for (std::int64_t f = 0; f < g.group_filters(); ++f)
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh)
      for (std::int64_t kw = 0; kw < g.kernel_w; ++kw)
        im.offsets.push_back(f * im.hq * im.wq + (g.kernel_h - 1 - kh) * g.dilation_h * im.wq +
                             (g.kernel_w - 1 - kw) * g.dilation_w);
  // Slack for whole-vector reads up to `width` past the largest offset: that of
  // the last filter's first tap (the offsets fall within a filter, rise across filters).
  const std::int64_t last = *std::max_element(im.offsets.begin(), im.offsets.end());
  im.image = std::max(g.group_filters() * im.hq * im.wq, last + im.width);
  return im;
}

bool use_implicit_grad(const ConvGeometry& g, std::int64_t mr) {
  if (g.stride_h != 1 || g.stride_w != 1 || g.is_pointwise()) return false;
  // gy must fit inside gyp: no padding wider than the kernel's span.
  const std::int64_t top = (g.kernel_h - 1) * g.dilation_h - g.pad_top;
  const std::int64_t left = (g.kernel_w - 1) * g.dilation_w - g.pad_left;
  if (top < 0 || left < 0 || top + g.out_h > g.in_h + (g.kernel_h - 1) * g.dilation_h ||
      left + g.out_w > g.in_w + (g.kernel_w - 1) * g.dilation_w)
    return false;
  const ConvEngine mode = engine_mode.load();
  if (mode == ConvEngine::EngineIm2col) return false;
  if (mode == ConvEngine::EngineImplicit) return true;
  // Work of the two ways, counting the rows each pads to whole register panels:
  // implicit C/groups x cols x F/groups*KH*KW, product K x P x F/groups (+ col2im, not counted);
  // mr is the float32 panel height of the instruction set in use.
  const std::int64_t wq = g.in_w + (g.kernel_w - 1) * g.dilation_w;
  const double implicit = double(round_up(g.group_channels(), mr)) * double((g.in_h - 1) * wq + g.in_w) *
                          double(g.kernel_h * g.kernel_w);
  const double product = double(round_up(g.patch_size(), mr)) * double(g.out_plane());
  return implicit / product <= kImplicitWaste;
}

// One image's gradient rows of a group (gy at the group's first filter) into gyp [F/groups, hq, wq] + slack.
template <class T> void pad_gradient(const T* gy, const ConvGeometry& g, const ImplicitGrad& im, T* gyp) {
  for (std::int64_t f = 0; f < g.group_filters(); ++f)
    for (std::int64_t oh = 0; oh < g.out_h; ++oh)
      copy_run(gy + (f * g.out_h + oh) * g.out_w, gyp + (f * im.hq + oh + im.top) * im.wq + im.left, g.out_w);
}

// ---- col2im as a gather on the padded width (stride 1) --------------------------------
// The input gradient as Wᵀ·gy then col2im, when the implicit correlation above
// wastes too much (LeNet-5's second conv: 6 channels, 8x8 outputs, 2.9x). col2im
// adds row (c, kh, kw) of the column gradient into channel c shifted by (kh, kw):
// on the output's own width, one short run per output row (8 values for LeNet's
// conv, 1200 runs per image; perf showed col2im at 14 % of a LeNet-5 step). Here
// the product is computed on the padded plane's width wp (gy's rows spread out to
// wp, zeros between them, as the forward's implicit GEMM does), so the shift of
// row (c, kh, kw) is one constant, s = kh·dh·wp + kw·dw, and each gradient pixel
// is a sum over the taps, gx[c][u] = Σ_(kh,kw) gcol[(c,kh,kw)][u - s] on the padded
// plane, read with the rows' zero margins standing in for the shifts that fall
// outside. Summed as a gather, every pixel of gx is written once: adding the rows
// in place instead (dst[u + s] += row[u], tap after tap) stalled on
// store-to-load forwarding, each tap's loads overlapping the last tap's stores
// one element off. The product's extra columns (cols / P, 1.44 for LeNet's conv)
// are the cheap part.
struct WideCol2im {
  std::int64_t hp = 0, wp = 0;  // the padded input plane the outputs cover
  std::int64_t cols = 0;        // (OH-1)*wp + OW: the product's columns
  std::int64_t margin = 0;      // zeros before each row of gcol: the largest shift
  std::int64_t ld = 0;          // gcol's row stride: cols + margin + a gather's width
  std::vector<std::int64_t> shifts;  // per tap (kh, kw)
};

constexpr std::int64_t kGatherWidth = 16;  // gx pixels summed at once (a zmm of floats, the compiler's choice)

// Only for short output rows: with LeNet-5's first conv (24 outputs a row, one
// channel) the runs of plain col2im are long enough and the gather measured
// slower (bench_conv_parts dx 0.37 vs 0.31 ms), with its second (8 a row) faster.
constexpr std::int64_t kWideCol2imMaxWidth = 16;

bool use_wide_col2im(const ConvGeometry& g) {
  return g.stride_h == 1 && g.stride_w == 1 && !g.is_pointwise() && g.out_w < kWideCol2imMaxWidth &&
         engine_mode.load() != ConvEngine::EngineIm2col;
}

WideCol2im wide_col2im_geometry(const ConvGeometry& g) {
  WideCol2im wc;
  wc.hp = g.out_h + (g.kernel_h - 1) * g.dilation_h;
  wc.wp = g.out_w + (g.kernel_w - 1) * g.dilation_w;
  wc.cols = (g.out_h - 1) * wc.wp + g.out_w;
  for (std::int64_t kh = 0; kh < g.kernel_h; ++kh)
    for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) wc.shifts.push_back(kh * g.dilation_h * wc.wp + kw * g.dilation_w);
  wc.margin = wc.shifts.back();
  wc.ld = wc.cols + wc.margin + kGatherWidth;
  return wc;
}

// Elements of the gcol buffer: a leading margin, then K rows of ld (zeroed once by
// the caller: the product writes only the first cols of each row).
std::int64_t wide_gcol_size(const ConvGeometry& g, const WideCol2im& wc) { return wc.margin + g.patch_size() * wc.ld; }

// gx of one image's group (gy at the group's first filter; gyw [F/groups, cols] with
// zeros between the rows; gcol as wide_gcol_size says).
template <class T>
void wide_col2im_gradient(const EngineKernels<T>& k, const T* packed_wt, const T* gy, const ConvGeometry& g,
                          const WideCol2im& wc, T* gyw, T* gcol, T* gx) {
  const std::int64_t FG = g.group_filters(), CG = g.group_channels(), P = g.out_plane();
  const std::int64_t taps = std::int64_t(wc.shifts.size());
  for (std::int64_t f = 0; f < FG; ++f)
    for (std::int64_t oh = 0; oh < g.out_h; ++oh)
      copy_run(gy + f * P + oh * g.out_w, gyw + f * wc.cols + oh * wc.wp, g.out_w);
  T* rows = gcol + wc.margin;
  run_gemm(k, g.patch_size(), wc.cols, FG, packed_wt, gyw, wc.cols, rows, wc.ld, static_cast<const T*>(nullptr),
           false);
  // Input pixels that no output reads (past the covered plane) get 0.
  const std::int64_t run = std::max<std::int64_t>(0, std::min(g.in_w, wc.wp - g.pad_left));
  for (std::int64_t c = 0; c < CG; ++c) {
    const T* taps_c = rows + c * taps * wc.ld;
    for (std::int64_t ih = 0; ih < g.in_h; ++ih) {
      T* out = gx + (c * g.in_h + ih) * g.in_w;
      const std::int64_t r = ih + g.pad_top;
      const std::int64_t n = r < wc.hp ? run : 0;
      for (std::int64_t iw0 = 0; iw0 < n; iw0 += kGatherWidth) {
        const std::int64_t u = r * wc.wp + g.pad_left + iw0;  // on the padded plane
        // A vector of the compiler's (as wide as the build's instruction set allows):
        // written as plain arrays, GCC kept 16 scalar sums and ran 1.7x slower.
        // Four independent sums: one chain of adds waits out the add latency per tap.
        typedef T Gather __attribute__((vector_size(kGatherWidth * sizeof(T))));
        Gather part[4] = {};
        auto tap = [&](std::int64_t t) {
          Gather v;
          std::memcpy(&v, taps_c + t * wc.ld + (u - wc.shifts[t]), sizeof v);
          return v;
        };
        std::int64_t t = 0;
        for (; t + 4 <= taps; t += 4)
          for (int j = 0; j < 4; ++j) part[j] += tap(t + j);
        for (; t < taps; ++t) part[0] += tap(t);
        const Gather acc = (part[0] + part[1]) + (part[2] + part[3]);
        T sums[kGatherWidth];
        std::memcpy(sums, &acc, sizeof acc);
        copy_run(sums, out + iw0, std::min(kGatherWidth, n - iw0));
      }
      std::fill(out + n, out + g.in_w, T(0));
    }
  }
}

// ---- the weight gradient from channels-last images ------------------------------
// gW[f][c][kh][kw] = Σ_{oh,ow} gy[f][oh][ow] · xpad[c][oh·sh + kh·dh][ow·sw + kw·dw]. With the
// image copied channels-last (xt[r][s][c], padded), the C/groups values a tap reads
// for one output pixel are contiguous: whole vectors when C/groups is a multiple of
// the lanes. Then gW, seen as [F/groups, KH·KW·C/groups] (columns (kh, kw, c)), is an
// outer-product GEMM like the forward's: per output pixel, a vector load per column
// block, a broadcast of gy per filter, an MR x NV tile of FMAs held in registers for
// the whole image. The dot-product kernel (gemm_abt) instead reduces along rows of
// the column matrix, needs unaligned loads of shifted rows and a horizontal sum per
// block, and computes the implicit path's junk columns: on bench_conv's layer
// (16 -> 32 channels, 28x28, 3x3) it ran ~90 GFLOP/s where this runs at the
// forward's rate (numbers in the CHANGELOG). Any stride, padding and dilation.
// With dilation 1 along the width, the taps kw = 0..KW-1 of one kernel row read
// adjacent pixels, so the KW·C/groups values of a kernel row are one contiguous
// run: vectors then cover runs (kh) rather than taps (kh, kw), and C/groups need
// not fill vectors -- LeNet-5's second conv (6 channels, 5x5) has runs of 30,
// two vectors of 16 (1.07x the work; the last vector's extra columns read the
// next pixel and are dropped).
struct ChannelsLast {
  std::int64_t hp = 0, wp = 0;   // the padded plane the outputs read
  std::int64_t line = 0, step = 0;  // xt elements between output rows / output columns
  std::int64_t run = 0;      // values of one segment: KW*C/groups (a kernel row) or C/groups (a tap)
  std::int64_t width = 0;    // run rounded up to whole vectors: gW's columns per segment here
  std::int64_t columns = 0;  // segments * width: the partial gW's row length
  std::int64_t slack = 0;    // xt elements read past the plane (the last run's extra columns)
  std::vector<std::int64_t> boff;  // per vector of gW's columns: its segment's offset and its place in it
};

// Most work (padded columns / real ones) at which whole kernel rows are taken
// when C/groups does not fill vectors (LeNet-5's second conv: 32/30).
constexpr double kChannelsLastWaste = 1.34;

bool kernel_row_runs(const ConvGeometry& g, std::int64_t lanes) {
  return g.group_channels() % lanes != 0 && g.dilation_w == 1;
}

bool use_channels_last(const ConvGeometry& g, std::int64_t lanes) {
  if (g.is_pointwise() || engine_mode.load() == ConvEngine::EngineIm2col) return false;
  if (g.group_channels() % lanes == 0) return true;
  if (!kernel_row_runs(g, lanes)) return false;
  const std::int64_t run = g.kernel_w * g.group_channels();
  return double(round_up(run, lanes)) / double(run) <= kChannelsLastWaste;
}

ChannelsLast channels_last_geometry(const ConvGeometry& g, std::int64_t lanes) {
  ChannelsLast cl;
  const std::int64_t CG = g.group_channels();
  cl.hp = (g.out_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1;
  cl.wp = (g.out_w - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1;
  cl.line = g.stride_h * cl.wp * CG;
  cl.step = g.stride_w * CG;
  const bool rows = kernel_row_runs(g, lanes);
  cl.run = rows ? g.kernel_w * CG : CG;
  cl.width = round_up(cl.run, lanes);
  cl.slack = cl.width - cl.run;
  for (std::int64_t kh = 0; kh < g.kernel_h; ++kh)
    for (std::int64_t kw = 0; kw < (rows ? 1 : g.kernel_w); ++kw)
      for (std::int64_t v = 0; v < cl.width; v += lanes)
        cl.boff.push_back((kh * g.dilation_h * cl.wp + kw * g.dilation_w) * CG + v);
  cl.columns = std::int64_t(cl.boff.size()) * lanes;
  return cl;
}

// Where gW's element (c, kh, kw) of a filter sits in a partial row of channels_last's layout.
std::int64_t channels_last_column(const ConvGeometry& g, const ChannelsLast& cl, std::int64_t c, std::int64_t kh,
                                  std::int64_t kw) {
  const std::int64_t CG = g.group_channels();
  if (cl.run == CG) return (kh * g.kernel_w + kw) * cl.width + c;  // a segment per tap
  return kh * cl.width + kw * CG + c;                               // a segment per kernel row
}

// The group's channels of one image (x at its first channel) into xt [hp, wp, C/groups],
// padded. Only the interior is written: the caller zeroes the buffer once.
template <class T> void channels_last_image(const T* x, const ConvGeometry& g, const ChannelsLast& cl, T* xt) {
  const std::int64_t CG = g.group_channels();
  const std::int64_t rows = std::min(g.in_h, cl.hp - g.pad_top), cols = std::min(g.in_w, cl.wp - g.pad_left);
  constexpr std::int64_t kBlock = 16;  // input columns per pass over the channels
  for (std::int64_t r = 0; r < rows; ++r) {
    T* out = xt + ((r + g.pad_top) * cl.wp + g.pad_left) * CG;
    for (std::int64_t s0 = 0; s0 < cols; s0 += kBlock) {
      const std::int64_t n = std::min(kBlock, cols - s0);
      for (std::int64_t c = 0; c < CG; ++c) {
        const T* src = x + (c * g.in_h + r) * g.in_w + s0;
        T* dst = out + s0 * CG + c;
        for (std::int64_t j = 0; j < n; ++j) dst[j * CG] = src[j];
      }
    }
  }
}

}  // namespace

void set_conv_engine(ConvEngine mode) { engine_mode.store(mode); }
ConvEngine conv_engine() { return engine_mode.load(); }

IsaSupport cpu_isa_support() {
  IsaSupport s;
#if defined(__x86_64__) || defined(__i386__)
  // A builtin, not xsimd::available_architectures(): that is an inline function
  // which the AVX-512 file could emit too (see the top of this file). libgcc's
  // CPUID reading also checks (XGETBV) that the OS saves the wide registers.
  __builtin_cpu_init();
  s.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  s.avx512 = s.avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#endif
  return s;
}

EngineIsa choose_engine_isa(const char* value, const IsaSupport& cpu) {
  const std::string v = lower_trimmed(value);
  if (v.empty() || v == "auto") return best_isa(cpu);
  EngineIsa wanted;
  if (v == "avx512")
    wanted = EngineIsa::Avx512;
  else if (v == "avx2")
    wanted = EngineIsa::Avx2;
  else if (v == "generic")
    wanted = EngineIsa::Generic;
  else
    throw std::invalid_argument("TAPEGRAD_ISA=" + std::string(value) +
                                ": unknown instruction set for the conv engine "
                                "(expected avx512, avx2, generic or auto)");
  if (!supports(wanted, cpu))
    throw std::invalid_argument("TAPEGRAD_ISA=" + std::string(value) + ": this CPU has no " +
                                engine_isa_name(wanted) + " (the widest it offers is " +
                                engine_isa_name(best_isa(cpu)) + "); unset TAPEGRAD_ISA or choose that one");
  return wanted;
}

EngineIsa engine_isa() {
  const int chosen = chosen_isa.load(std::memory_order_acquire);
  if (chosen != kUnchosen) return static_cast<EngineIsa>(chosen);
  // First use. Two threads may both get here; they compute the same answer.
  // Nothing is stored when the value is refused, so every later use refuses it too.
  const char* value = std::getenv("TAPEGRAD_ISA");
  const EngineIsa isa = choose_engine_isa(value, cpu_isa_support());
  int expected = kUnchosen;
  if (chosen_isa.compare_exchange_strong(expected, static_cast<int>(isa), std::memory_order_acq_rel)) {
    isa_reason.store(lower_trimmed(value).empty() || lower_trimmed(value) == "auto" ? IsaReason::Cpu
                                                                                    : IsaReason::Environment);
    return isa;
  }
  return static_cast<EngineIsa>(expected);  // another thread chose (or set_engine_isa forced) meanwhile
}

void set_engine_isa(EngineIsa isa) {
  if (!supports(isa, cpu_isa_support()))
    throw std::invalid_argument(std::string("set_engine_isa: this CPU has no ") + engine_isa_name(isa));
  isa_reason.store(IsaReason::Program);
  chosen_isa.store(static_cast<int>(isa), std::memory_order_release);
}

std::vector<EngineIsa> supported_engine_isas() {
  std::vector<EngineIsa> isas;
  for (EngineIsa isa : {EngineIsa::Generic, EngineIsa::Avx2, EngineIsa::Avx512})
    if (supports(isa, cpu_isa_support())) isas.push_back(isa);
  return isas;
}

const char* engine_isa_name(EngineIsa isa) { return isa_kernels(isa).name; }

std::string engine_isa_reason() {
  (void)engine_isa();  // chosen (and the reason recorded) first
  switch (isa_reason.load()) {
    case IsaReason::Environment: return "TAPEGRAD_ISA=" + lower_trimmed(std::getenv("TAPEGRAD_ISA"));
    case IsaReason::Program: return "set by the program";
    case IsaReason::Cpu: break;
  }
  return "chosen at run time";
}

namespace {
// Whether OpenBLAS runs kernels without AVX2 on a CPU that has AVX2 (the user
// kept OPENBLAS_CORETYPE=Prescott, or the switch of ops/config.cpp failed):
// then it is 3-4x slower and the engine wins at every conv size.
bool blas_kernels_generic() {
  static const bool generic = [] {
    const Config c = config();
    return !blas_kernels_upgrade(c.blas_kernels, c.cpu_isa).empty();
  }();
  return generic;
}
}  // namespace

// Where the engine is used in Auto mode: float32 only (float64 keeps im2col+BLAS),
// and against OpenBLAS's AVX-512 kernels only where it measured faster. One
// thread, thread CPU time, fwd+dx+dw, engine / im2col+BLAS (bench_conv_parts,
// Xeon model 167 with AVX-512, OpenBLAS 0.3.21 SkylakeX kernels):
//   stride 1, K = C/groups*KH*KW <= 640:  0.56-0.89 (LeNet-5, 16-64 channels 3x3 at 28/14/7,
//                                          the bench_conv layer 0.75, 1x1 64->256 0.97)
//   K = 864-1600 (96 and 128 channels 3x3 at 28/14/7, batch 1-32; 64 -> 128 channels 5x5):
//                                          0.63-0.87 once the channels-last weight gradient
//                                          stopped dividing per element of gW (it was
//                                          0.92-1.51 before, its dw up to 1.8x OpenBLAS's)
//   K = 2304 (256 channels 3x3):          0.71-0.96, but only through the weight gradient
//                                          (dw 0.38-0.80); forward and input gradient
//                                          0.92-1.36 -> the weight gradient only
//   stride 2 (ResNet downsampling):       0.98-1.03    -> im2col+BLAS (the weight gradient: below)
//   F/groups < 4 (1->2 channels 3x3):     1.36         -> im2col+BLAS
//   under ~1M multiply-adds per call (the seed CNN's 2->4 channel conv, 0.45M, batch 32):
//   parity in the kernels, but the engine's fixed costs (offset tables, scratch) made the
//   whole training step 4% slower (tg_bench binary_cnn_step_b32 0.245 vs 0.235 ms) -> im2col+BLAS
// Where the weight gradient's dot products run out of L1 (large K) is the engine's weak part.
// An AVX2 build of the engine (same host, ymm registers) against OpenBLAS's Haswell
// kernels: LeNet-5's convs 0.49 / 0.70, K = 144 and 288 0.97, K = 576 (64 channels
// at 7x7) 1.08, so the AVX2 (and SSE2) kernels stop at K = 320 (not measured again
// since). Which limit applies follows the instruction set chosen at run time, not
// the build's flags. Sizes past the measured ones (K > 2304) keep im2col+BLAS.
constexpr std::int64_t kMaxEnginePatchWide = 1600, kMaxEnginePatchNarrow = 320;
constexpr std::int64_t kMaxWeightGradPatchWide = 2304;
constexpr std::int64_t kMinEngineFilters = 4;
constexpr std::int64_t kMinEngineMacs = std::int64_t{1} << 20;

template <class T> bool use_conv_engine(const ConvGeometry& g) {
  const ConvEngine mode = engine_mode.load();
  if (mode == ConvEngine::Im2colBlas) return false;
  if (mode != ConvEngine::Auto) return true;
  if (!std::is_same<T, float>::value) return false;
  if (blas_kernels_generic()) return true;
  const std::int64_t macs = g.batch * g.filters * g.out_plane() * g.patch_size();
  const std::int64_t max_patch = current_kernels().wide_register_file ? kMaxEnginePatchWide : kMaxEnginePatchNarrow;
  return g.stride_h == 1 && g.stride_w == 1 && g.patch_size() <= max_patch &&
         g.group_filters() >= kMinEngineFilters && macs >= kMinEngineMacs;
}

// Strided convs stay on im2col+BLAS (forward and input gradient measured at
// parity, above), but the engine's channels-last weight gradient beats OpenBLAS's
// there (bench_conv_parts, one thread, dw: 16 -> 32 channels 3x3 stride 2 at
// 28x28 0.63-0.67 vs 1.33 ms, 32 -> 64 at 14x14 0.77-0.83 vs 1.19 ms; 96 -> 192
// at 28x28 8.7-9.3 vs 11.2-11.4 ms, 128 -> 256 at 14x14 4.1-4.3 vs 6.6-7.0 ms,
// 256 -> 512 at 14x14 9.9-10.2 vs 16.3-16.4 ms), so conv2d_backward takes only
// that from the engine; the same for stride 1 past the engine's whole-conv limit
// (256 -> 256 channels 3x3: dw 14.5-14.7 vs 18.4-19.2 ms at 14x14 batch 8, 2.1-2.2
// vs 5.6-5.8 ms at batch 1). Not for 1x1 kernels (one vector of columns per tap:
// 0.24 vs 0.19 ms for the ResNet shortcut).
template <class T> bool use_engine_weight_grad(const ConvGeometry& g) {
  if (engine_mode.load() != ConvEngine::Auto || !std::is_same<T, float>::value) return false;
  if (use_conv_engine<T>(g)) return true;
  const std::int64_t macs = g.batch * g.filters * g.out_plane() * g.patch_size();
  const std::int64_t max_patch = current_kernels().wide_register_file ? kMaxWeightGradPatchWide : kMaxEnginePatchNarrow;
  return g.kernel_h * g.kernel_w > 1 && g.patch_size() <= max_patch && g.group_filters() >= kMinEngineFilters &&
         macs >= kMinEngineMacs && use_channels_last(g, current<T>().lanes);
}

template <class T> std::int64_t engine_panel_rows() { return current<T>().panel_rows; }
template <class T> std::int64_t engine_lanes() { return current<T>().lanes; }
template <class T> std::int64_t packed_a_size(std::int64_t M, std::int64_t K) {
  return round_up(M, current<T>().panel_rows) * K;
}

template <class T>
void pack_a(std::int64_t M, std::int64_t K, const T* a, std::int64_t row_stride, std::int64_t col_stride, T* packed) {
  current<T>().pack_a(M, K, a, row_stride, col_stride, packed);
}

template <class T>
void engine_gemm(std::int64_t M, std::int64_t N, std::int64_t K, const T* packed_a, const T* b, std::int64_t ldb,
                 T* c, std::int64_t ldc, const T* bias, bool accumulate) {
  run_gemm(current<T>(), M, N, K, packed_a, b, ldb, c, ldc, bias, accumulate);
}

template <class T>
void engine_gemm_abt(std::int64_t M, std::int64_t N, std::int64_t L, const T* a, std::int64_t lda, const T* b,
                     std::int64_t ldb, T* c, std::int64_t ldc) {
  run_gemm_abt(current<T>(), M, N, L, a, lda, b, ldb, c, ldc);
}

template <class T> void engine_conv2d_forward(const T* x, const T* w, const T* b, const ConvGeometry& g, T* y) {
  const std::int64_t F = g.filters, K = g.patch_size(), P = g.out_plane();
  const std::int64_t FG = g.group_filters(), CG = g.group_channels();
  const bool pointwise = g.is_pointwise();
  const EngineKernels<T>& k = current<T>();
  const std::int64_t panel_size = round_up(FG, k.panel_rows) * K;
  Scratch<T> packed(g.groups * panel_size);
  for (std::int64_t grp = 0; grp < g.groups; ++grp)
    k.pack_a(FG, K, w + grp * FG * K, K, 1, packed.data + grp * panel_size);
  const bool implicit = use_implicit(g);
  const Implicit im = implicit ? implicit_geometry(g, k.lanes) : Implicit();
  // Each slice's scratch, taken from the allocator's cache here, in slice order,
  // rather than by the threads as they start: the cache then sees the same
  // requests in the same order every step (tests/test_soak.cpp checks it stops growing).
  const std::int64_t chunks = engine_chunks(g);
  struct Buffers {
    Scratch<T> col, padded, wide;
  };
  std::vector<Buffers> buffers;
  for (std::int64_t c = 0; c < chunks; ++c)
    buffers.push_back({Scratch<T>(pointwise || implicit ? 0 : K * P), Scratch<T>(implicit ? im.image : 0),
                       Scratch<T>(implicit ? FG * im.width : 0)});
  for_each_slice(g.batch, chunks, [&](std::int64_t chunk, std::int64_t begin, std::int64_t end) {
    Scratch<T>& col = buffers[chunk].col;
    Scratch<T>& padded = buffers[chunk].padded;
    Scratch<T>& wide = buffers[chunk].wide;
    padded.zeroed();
    for (std::int64_t n = begin; n < end; ++n)
      for (std::int64_t grp = 0; grp < g.groups; ++grp) {
        const T* xg = x + (n * g.channels + grp * CG) * g.in_plane();
        T* yg = y + (n * F + grp * FG) * P;
        const T* bg = b ? b + grp * FG : nullptr;
        if (implicit) {
          pad_image(xg, g, im, padded.data);
          k.gemm_offsets(FG, im.cols, K, packed.data + grp * panel_size, padded.data, im.offsets.data(), wide.data,
                         im.width, bg, false);
          for (std::int64_t f = 0; f < FG; ++f)
            for (std::int64_t oh = 0; oh < g.out_h; ++oh)
              copy_run(wide.data + f * im.width + oh * im.wp, yg + f * P + oh * g.out_w, g.out_w);
          continue;
        }
        if (!pointwise) im2col(xg, g, col.data);
        run_gemm(k, FG, P, K, packed.data + grp * panel_size, pointwise ? xg : col.data, P, yg, P, bg, false);
      }
  });
}

template <class T>
void engine_conv2d_backward(const T* x, const T* w, const T* gy, const ConvGeometry& g, T* gx, T* gw, T* gb) {
  const std::int64_t F = g.filters, K = g.patch_size(), P = g.out_plane();
  const std::int64_t FG = g.group_filters(), CG = g.group_channels();
  const bool pointwise = g.is_pointwise();
  const EngineIsaKernels& isa = current_kernels();
  const EngineKernels<T>& k = kernels_of<T>(isa);
  const std::int64_t lanes = k.lanes;
  const std::int64_t chunks = engine_chunks(g);

  // Input gradient: Wᵀ [K, F/groups] per group, packed straight from W (its row
  // stride is 1, column stride K); or, implicit, W as [C/groups, F/groups*KH*KW].
  const bool implicit_gx = gx && use_implicit_grad(g, isa.f32.panel_rows);
  const ImplicitGrad img = implicit_gx ? implicit_grad_geometry(g, lanes) : ImplicitGrad();
  const bool wide_gx = gx && !implicit_gx && use_wide_col2im(g);
  const WideCol2im wc = wide_gx ? wide_col2im_geometry(g) : WideCol2im();
  const std::int64_t khw = g.kernel_h * g.kernel_w;
  const std::int64_t panel_size = implicit_gx ? round_up(CG, k.panel_rows) * FG * khw : round_up(K, k.panel_rows) * FG;
  Scratch<T> packed_t(gx ? g.groups * panel_size : 0);
  if (gx)
    for (std::int64_t grp = 0; grp < g.groups; ++grp) {
      const T* wg = w + grp * FG * K;
      if (!implicit_gx) {
        k.pack_a(K, FG, wg, 1, K, packed_t.data + grp * panel_size);
        continue;
      }
      // A[c][(f, kh, kw)] = w[f][c][kh][kw]: one pack_a per filter's block of columns would
      // interleave wrongly, so gather the [C/groups, F/groups*KH*KW] matrix first.
      std::vector<T> a(CG * FG * khw);
      for (std::int64_t c = 0; c < CG; ++c)
        for (std::int64_t f = 0; f < FG; ++f)
          for (std::int64_t q = 0; q < khw; ++q) a[(c * FG + f) * khw + q] = wg[f * K + c * khw + q];
      k.pack_a(CG, FG * khw, a.data(), FG * khw, 1, packed_t.data + grp * panel_size);
    }

  // Images per weight-gradient fold, and the fold's padded width (im2col path:
  // the images side by side in one matrix; implicit path: one padded image and
  // one widened gradient per image, summed in one pass).
  const bool channels_last = gw && use_channels_last(g, lanes);
  const ChannelsLast cl = channels_last ? channels_last_geometry(g, lanes) : ChannelsLast();
  const bool implicit = gw && !channels_last && use_implicit(g);
  const Implicit im = implicit ? implicit_geometry(g, lanes) : Implicit();
  const std::int64_t fold =
      channels_last ? 1 : std::max<std::int64_t>(1, kFoldColumns / (implicit ? im.width : P));
  const std::int64_t max_width = implicit || channels_last ? 0 : round_up(fold * P, lanes);

  std::vector<Scratch<T>> partial_w, partial_b;
  for (std::int64_t c = 0; c < chunks; ++c) {
    partial_w.emplace_back(gw ? F * (channels_last ? cl.columns : K) : 0);
    partial_b.emplace_back(gb ? F : 0);
  }

  struct Buffers {  // per slice, taken in slice order (see engine_conv2d_forward)
    Scratch<T> gcol, gyp, gx_wide, col, gy_fold;
  };
  std::vector<Buffers> buffers;
  for (std::int64_t c = 0; c < chunks; ++c)
    buffers.push_back({Scratch<T>(gx && !pointwise && !implicit_gx ? (wide_gx ? wide_gcol_size(g, wc) : K * P) : 0),
                       Scratch<T>(implicit_gx ? img.image : wide_gx ? FG * wc.cols : 0),
                       Scratch<T>(implicit_gx ? CG * img.width : 0),
                       Scratch<T>(gw ? (channels_last ? cl.hp * cl.wp * CG + cl.slack
                                               : implicit    ? fold * im.image
                                                             : K * max_width)
                                     : 0),
                       Scratch<T>(gw && !channels_last ? FG * (implicit ? fold * im.width : max_width) : 0)});
  for_each_slice(g.batch, chunks, [&](std::int64_t chunk, std::int64_t begin, std::int64_t end) {
    T* acc_w = partial_w[chunk].data;
    T* acc_b = partial_b[chunk].data;
    if (acc_w) std::fill(acc_w, acc_w + partial_w[chunk].size, T(0));
    if (acc_b) std::fill(acc_b, acc_b + F, T(0));
    Scratch<T>& gcol = buffers[chunk].gcol;
    Scratch<T>& gyp = buffers[chunk].gyp;
    Scratch<T>& gx_wide = buffers[chunk].gx_wide;
    Scratch<T>& col = buffers[chunk].col;
    Scratch<T>& gy_fold = buffers[chunk].gy_fold;
    gyp.zeroed();  // the implicit buffers' borders and junk columns stay zero from here on
    if (wide_gx) gcol.zeroed();  // so do the margins of the wide column gradient
    if (implicit || channels_last) col.zeroed(), gy_fold.zeroed();
    std::vector<const T*> a_segments(fold), b_segments(fold);
    for (std::int64_t n0 = begin; n0 < end; n0 += fold) {
      const std::int64_t images = std::min(fold, end - n0);
      const std::int64_t used = images * P, width = round_up(used, lanes);
      for (std::int64_t n = n0; n < n0 + images; ++n) {
        const T* gyn = gy + n * F * P;
        if (acc_b)
          for (std::int64_t f = 0; f < F; ++f) acc_b[f] += static_cast<T>(row_sum(gyn + f * P, P));
        if (!gx) continue;
        for (std::int64_t grp = 0; grp < g.groups; ++grp) {
          T* gxg = gx + (n * g.channels + grp * CG) * g.in_plane();
          if (implicit_gx) {
            pad_gradient(gyn + grp * FG * P, g, img, gyp.data);
            k.gemm_offsets(CG, img.cols, FG * khw, packed_t.data + grp * panel_size, gyp.data, img.offsets.data(),
                           gx_wide.data, img.width, nullptr, false);
            for (std::int64_t c = 0; c < CG; ++c)
              for (std::int64_t ih = 0; ih < g.in_h; ++ih)
                copy_run(gx_wide.data + c * img.width + ih * img.wq, gxg + (c * g.in_h + ih) * g.in_w, g.in_w);
          } else if (wide_gx) {
            wide_col2im_gradient(k, packed_t.data + grp * panel_size, gyn + grp * FG * P, g, wc, gyp.data, gcol.data,
                                 gxg);
          } else if (pointwise) {
            run_gemm<T>(k, K, P, FG, packed_t.data + grp * panel_size, gyn + grp * FG * P, P, gxg, P, nullptr,
                        false);
          } else {
            run_gemm<T>(k, K, P, FG, packed_t.data + grp * panel_size, gyn + grp * FG * P, P, gcol.data, P, nullptr,
                        false);
            std::fill(gxg, gxg + CG * g.in_plane(), T(0));
            col2im(gcol.data, g, gxg);
          }
        }
      }
      if (!acc_w) continue;
      if (channels_last) {  // gW's columns in (kh, kw, c) order here, put back in sum_partials
        for (std::int64_t n = n0; n < n0 + images; ++n)
          for (std::int64_t grp = 0; grp < g.groups; ++grp) {
            channels_last_image(x + (n * g.channels + grp * CG) * g.in_plane(), g, cl, col.data);
            k.gemm_channels_last(FG, std::int64_t(cl.boff.size()), g.out_h, g.out_w, gy + (n * F + grp * FG) * P,
                                 P, col.data, cl.line, cl.step, cl.boff.data(), acc_w + grp * FG * cl.columns,
                                 cl.columns);
          }
        continue;
      }
      if (implicit) {
        for (std::int64_t grp = 0; grp < g.groups; ++grp) {
          for (std::int64_t i = 0; i < images; ++i) {
            const std::int64_t n = n0 + i;
            T* xp = col.data + i * im.image;
            T* gyw = gy_fold.data + i * FG * im.width;
            pad_image(x + (n * g.channels + grp * CG) * g.in_plane(), g, im, xp);
            for (std::int64_t f = 0; f < FG; ++f)
              for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
                const T* src = gy + ((n * F + grp * FG + f) * g.out_h + oh) * g.out_w;
                copy_run(src, gyw + f * im.width + oh * im.wp, g.out_w);
              }
            a_segments[i] = gyw;
            b_segments[i] = xp;
          }
          k.gemm_abt(FG, K, im.width, images, a_segments.data(), im.width, b_segments.data(), im.offsets.data(),
                     acc_w + grp * FG * K, K);
        }
        continue;
      }
      for (std::int64_t grp = 0; grp < g.groups; ++grp) {
        // The fold's column matrix [K, width] and gradient rows [F/groups, width], images side by side.
        for (std::int64_t i = 0; i < images; ++i) {
          const std::int64_t n = n0 + i;
          im2col(x + (n * g.channels + grp * CG) * g.in_plane(), g, col.data + i * P, width);
          for (std::int64_t f = 0; f < FG; ++f) {
            const T* src = gy + (n * F + grp * FG + f) * P;
            std::copy(src, src + P, gy_fold.data + f * width + i * P);
          }
        }
        if (width > used) {
          for (std::int64_t k = 0; k < K; ++k) std::fill(col.data + k * width + used, col.data + (k + 1) * width, T(0));
          for (std::int64_t f = 0; f < FG; ++f)
            std::fill(gy_fold.data + f * width + used, gy_fold.data + (f + 1) * width, T(0));
        }
        run_gemm_abt(k, FG, K, width, gy_fold.data, width, col.data, width, acc_w + grp * FG * K, K);
      }
    }
  });

  if (gw && channels_last) {
    // gW's row (c, kh, kw) from channels_last's layout, the slices added in order
    // as sum_partials does. The column of each (c, kh, kw) is tabled once: found by
    // divisions per element, as it was, this pass alone took ~1 ms for 128 -> 128
    // channels 3x3 (147 K elements), more than the whole product at batch 1
    // (bench_conv_parts dw 2.5 ms against OpenBLAS's 1.4).
    std::vector<std::int64_t> column(K);
    for (std::int64_t c = 0; c < CG; ++c)
      for (std::int64_t kh = 0; kh < g.kernel_h; ++kh)
        for (std::int64_t kw = 0; kw < g.kernel_w; ++kw)
          column[(c * g.kernel_h + kh) * g.kernel_w + kw] = channels_last_column(g, cl, c, kh, kw);
    for (std::int64_t f = 0; f < F; ++f) {
      T* out = gw + f * K;
      std::fill(out, out + K, T(0));
      for (const Scratch<T>& part : partial_w) {
        const T* row = part.data + f * cl.columns;
        for (std::int64_t q = 0; q < K; ++q) out[q] += row[column[q]];
      }
    }
  } else if (gw) {
    sum_partials(partial_w, F * K, gw);
  }
  if (gb) sum_partials(partial_b, F, gb);
}

#define TG_INSTANTIATE_CONV_ENGINE(T)                                                                               \
  template bool use_conv_engine<T>(const ConvGeometry&);                                                            \
  template bool use_engine_weight_grad<T>(const ConvGeometry&);                                                     \
  template std::int64_t engine_panel_rows<T>();                                                                     \
  template std::int64_t engine_lanes<T>();                                                                          \
  template std::int64_t packed_a_size<T>(std::int64_t, std::int64_t);                                               \
  template void pack_a<T>(std::int64_t, std::int64_t, const T*, std::int64_t, std::int64_t, T*);                    \
  template void engine_gemm<T>(std::int64_t, std::int64_t, std::int64_t, const T*, const T*, std::int64_t, T*,      \
                               std::int64_t, const T*, bool);                                                       \
  template void engine_gemm_abt<T>(std::int64_t, std::int64_t, std::int64_t, const T*, std::int64_t, const T*,      \
                                   std::int64_t, T*, std::int64_t);                                                 \
  template void engine_conv2d_forward<T>(const T*, const T*, const T*, const ConvGeometry&, T*);                    \
  template void engine_conv2d_backward<T>(const T*, const T*, const T*, const ConvGeometry&, T*, T*, T*);
TG_INSTANTIATE_CONV_ENGINE(float)
TG_INSTANTIATE_CONV_ENGINE(double)
#undef TG_INSTANTIATE_CONV_ENGINE

}  // namespace tg::detail
