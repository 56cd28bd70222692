// tapegrad — ONNX export: a model that runs without tapegrad, in any ONNX
// runtime (the tests run the exported files in OpenCV's DNN module).
//
// @code
//   auto model = std::make_shared<tg::nn::Sequential>(std::make_shared<tg::nn::Linear>(4, 3),
//                                                     std::make_shared<tg::nn::ReLU>());
//   std::string path = (std::filesystem::temp_directory_path() / "model.onnx").string();
//   tg::onnx::export_model(*model, tg::randn({1, 4}), path);   // runs with any batch size
// @endcode
//
// export_model traces one forward pass of the model on the example input: it
// runs the model in eval mode with grad mode on, the input marked as requiring
// grad, and reads the ops that the tape records (their names, inputs, outputs
// and the attributes each op keeps, autograd::OpAttributes). Only the ops that
// the output depends on are written; tensors that do not depend on the input
// (parameters, buffers, constants) become initializers, parameters and buffers
// under their named_parameters / named_buffers names. nn::Linear's weight is
// written in PyTorch's [out, in] layout, used by a Gemm with transB = 1 (the
// bias added after it becomes the Gemm's C), as PyTorch's exporter does.
//
// The batch: the first dimension of the input and of everything computed from
// it is a dim_param "batch", so the file runs with any batch size. That holds
// while the batch stays the first dimension; an op that moves it elsewhere or
// mixes it with a constant's first dimension is refused. A reshape of a batched
// tensor keeps the batch first (-1 in its shape; Flatten when it flattens all
// but the batch).
//
// The ops and their ONNX operators (opsets 11 to 17):
//   conv2d (conv1d, nn::Conv2d, nn::Conv1d)   Conv
//   conv_transpose2d (nn::ConvTranspose2d)    ConvTranspose (its bias add folded in)
//   nn::BatchNorm1d / BatchNorm2d with        BatchNormalization (running_mean and
//     running statistics                        running_var as initializers, epsilon)
//   mean over H, W of [N,C,H,W], keepdim      GlobalAveragePool
//     (adaptive_avg_pool2d to 1x1)
//   sum (and mean) over other dimensions      ReduceSum (axes: an attribute before
//                                             opset 13, an input from it)
//   max_pool2d / avg_pool2d (on [N,C,H,W])    MaxPool / AveragePool (count_include_pad = 1)
//   matmul (nn::Linear) [+ add of the bias]   Gemm; other products MatMul
//   relu sigmoid tanh exp log sqrt neg abs    Relu Sigmoid Tanh Exp Log Sqrt Neg Abs
//   softmax / log_softmax                     Softmax / LogSoftmax (a dim other than the
//                                             last needs opset 13 or later)
//   add sub mul div, with a tensor or scalar  Add Sub Mul Div
//   reshape (flatten, view)                   Flatten or Reshape
//   permute (transpose)                       Transpose
//   cat                                       Concat
// Batch norm runs in eval mode during the trace, so a BatchNorm module that tracks
// running statistics exports as BatchNormalization with them, whatever mode it
// was in (as PyTorch's exporter does). Normalising with the batch's own
// statistics (functional batch_norm with training = true, a BatchNorm without
// track_running_stats: the op fused_batch_norm) is refused, since an ONNX
// runtime would not: its outputs would depend on the rest of the batch.
// Any other op recorded during the trace stops it with std::invalid_argument
// naming the op, its input shapes and, when raised inside a module, the module's
// path. Dropout in eval mode is the identity and records nothing.
//
// The file is written with tapegrad's own encoder of protobuf's wire format (no
// protobuf or onnx library is needed), atomically (tg::train::write_file_atomically).
// In Python: `onnx.checker.check_model(onnx.load(path))`, and
// `cv2.dnn.readNetFromONNX(path)` to run it (README "Moving models").
#pragma once

#include <string>

#include <tapegrad/core/tensor.hpp>

namespace tg::nn {
class Module;
}

/// @namespace tg::onnx
/// ONNX export of a module, traced from one forward pass on the tape.
namespace tg::onnx {

/// The opsets export_model writes, and the one it writes by default.
///@{
inline constexpr int kMinOpset = 11;
inline constexpr int kMaxOpset = 17;
inline constexpr int kDefaultOpset = 13;
///@}

/// Traces `model` on `example_input` (float32 or float64, at least 1-D: its
/// first dimension is the batch) and writes it to `path` as an ONNX model of
/// opset `opset`, with one input "input" and one output "output". The model runs
/// in eval mode during the trace; every module's mode is restored afterwards.
/// Throws std::invalid_argument for an opset outside [kMinOpset, kMaxOpset], a
/// bad example input, or an op without an ONNX mapping (see the top of this
/// file); std::runtime_error when the file cannot be written.
void export_model(nn::Module& model, const Tensor& example_input, const std::string& path,
                  int opset = kDefaultOpset);

}  // namespace tg::onnx
