// tapegrad — optimizers, learning-rate schedules and gradient clipping in one include.
#pragma once

/// @namespace tg::optim
/// Optimizers (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, LBFGS) over parameter
/// handles or parameter groups, learning-rate schedules (StepLR, MultiStepLR,
/// ExponentialLR, CosineAnnealingLR, LinearLR, OneCycleLR, SequentialLR,
/// ReduceLROnPlateau) and gradient clipping.

#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/adaptive.hpp>
#include <tapegrad/optim/clip_grad.hpp>
#include <tapegrad/optim/lbfgs.hpp>
#include <tapegrad/optim/lr_scheduler.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include <tapegrad/optim/sgd.hpp>
