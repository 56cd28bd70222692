// tapegrad — optimizers, learning-rate schedules and gradient clipping in one include.
#pragma once

/// @namespace tg::optim
/// Optimizers (SGD, Adam, AdamW) over parameter handles, learning-rate
/// schedules (StepLR, CosineAnnealingLR) and gradient clipping.

#include <tapegrad/adam.hpp>
#include <tapegrad/clip_grad.hpp>
#include <tapegrad/lr_scheduler.hpp>
#include <tapegrad/optimizer.hpp>
#include <tapegrad/sgd.hpp>
