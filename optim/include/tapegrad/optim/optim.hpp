// tapegrad — optimizers, learning-rate schedules and gradient clipping in one include.
#pragma once

/// @namespace tg::optim
/// Optimizers (SGD, Adam, AdamW) over parameter handles, learning-rate
/// schedules (StepLR, CosineAnnealingLR) and gradient clipping.

#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/clip_grad.hpp>
#include <tapegrad/optim/lr_scheduler.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include <tapegrad/optim/sgd.hpp>
