// tapegrad — one include for the whole library.
//
//   #include <tapegrad/tapegrad.hpp>
//
// Public headers never include xtensor or BLAS headers, so this costs a
// user's translation unit well under a second. For xtensor interop include
// <tapegrad/xtensor.hpp> separately.
#pragma once

/// @namespace tg
/// tapegrad's public API: Tensor and its factories, the differentiable ops,
/// gradcheck, and the sub-namespaces autograd, nn, optim, data, image and
/// distributed. Internals live in tg::detail and are not part of the API.

#include <tapegrad/autograd.hpp>
#include <tapegrad/data.hpp>
#include <tapegrad/dtype.hpp>
#include <tapegrad/gradcheck.hpp>
#include <tapegrad/image.hpp>
#include <tapegrad/memory.hpp>
#include <tapegrad/nn.hpp>
#include <tapegrad/ops.hpp>
#include <tapegrad/optim.hpp>
#include <tapegrad/parallel.hpp>
#include <tapegrad/shape.hpp>
#include <tapegrad/tensor.hpp>
#include <tapegrad/version.hpp>
#include <tapegrad/vision.hpp>
