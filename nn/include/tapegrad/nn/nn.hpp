// tapegrad — the neural-network library in one include: modules, layers
// (dense, activations, dropout, convolution and pooling, normalisation,
// recurrent, attention and Transformer layers), Sequential, ModuleList,
// ModuleDict, losses, initialisers, summary and module gradcheck. The training
// loop (fit) and checkpoints are in the layer above: <tapegrad/train/train.hpp>.
#pragma once

/// @namespace tg::nn
/// Neural networks built from differentiable ops: Module and the built-in
/// layers, Sequential, losses (functional and callable), initialisers (init),
/// summary, module gradcheck, and (declared in <tapegrad/train/fit.hpp>) the
/// fit()/evaluate() training loop.

#include <tapegrad/nn/activations.hpp>
#include <tapegrad/nn/attention.hpp>
#include <tapegrad/nn/containers.hpp>
#include <tapegrad/nn/conv_layers.hpp>
#include <tapegrad/nn/declared_functions.hpp>
#include <tapegrad/nn/embedding.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/layers.hpp>
#include <tapegrad/nn/loss.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/nn/module_gradcheck.hpp>
#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/nn/recurrent.hpp>
#include <tapegrad/nn/sequential.hpp>
#include <tapegrad/nn/summary.hpp>
