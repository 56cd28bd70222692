// tapegrad — the neural-network library in one include: modules, layers
// (dense, element-wise, convolution and pooling),
// Sequential, losses, initialisers, summary, module gradcheck and checkpoints.
#pragma once

/// @namespace tg::nn
/// Neural networks built from differentiable ops: Module and the built-in
/// layers, Sequential, losses (functional and callable), initialisers (init),
/// summary, module gradcheck and the fit()/evaluate() training loop.

#include <tapegrad/conv_layers.hpp>
#include <tapegrad/fit.hpp>
#include <tapegrad/init.hpp>
#include <tapegrad/layers.hpp>
#include <tapegrad/loss.hpp>
#include <tapegrad/module.hpp>
#include <tapegrad/module_gradcheck.hpp>
#include <tapegrad/sequential.hpp>
#include <tapegrad/serialize.hpp>
#include <tapegrad/summary.hpp>
