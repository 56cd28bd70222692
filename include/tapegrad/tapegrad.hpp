// tapegrad — one include for the whole library.
//
// <!-- snippet: file -->
// @code
//   #include <tapegrad/tapegrad.hpp>
// @endcode
//
// Public headers never include xtensor or BLAS headers, so this costs a
// user's translation unit well under a second. For xtensor interop include
// <tapegrad/core/xtensor.hpp> separately.
#pragma once

/// @namespace tg
/// tapegrad's public API: Tensor and its factories, the differentiable ops,
/// gradcheck, and the sub-namespaces autograd, nn, optim, data, train, io,
/// image and distributed. Internals live in tg::detail and are not part of the API.

#include <tapegrad/core/autograd.hpp>
#include <tapegrad/core/dtype.hpp>
#include <tapegrad/core/gradcheck.hpp>
#include <tapegrad/core/memory.hpp>
#include <tapegrad/core/op_info.hpp>
#include <tapegrad/core/parallel.hpp>
#include <tapegrad/core/read_limits.hpp>
#include <tapegrad/core/shape.hpp>
#include <tapegrad/core/tensor.hpp>
#include <tapegrad/data/data.hpp>
#include <tapegrad/io/onnx.hpp>
#include <tapegrad/io/safetensors.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/ops/config.hpp>
#include <tapegrad/ops/declared_ops.hpp>
#include <tapegrad/ops/image.hpp>
#include <tapegrad/ops/normalization.hpp>
#include <tapegrad/ops/ops.hpp>
#include <tapegrad/ops/recurrent.hpp>
#include <tapegrad/ops/vision.hpp>
#include <tapegrad/optim/optim.hpp>
#include <tapegrad/train/train.hpp>
#include <tapegrad/version.hpp>
