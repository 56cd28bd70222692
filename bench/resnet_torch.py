#!/usr/bin/env python3
"""The resnet trainer's network and recipe (examples/resnet.cpp) in PyTorch, to
compare wall time and test accuracy with `build/examples/resnet`:

    /usr/bin/python3 bench/resnet_torch.py [--epochs 10] [--threads 2] [--data-dir DIR]

Same as the trainer's defaults: the ResNet of examples/common/resnet_model.cpp
(stem Conv3x3(1->16)-BN-ReLU, one basic block per stage at 16/32/64 channels,
global average pooling, Linear(64->10); Kaiming-normal fan_out convolutions),
random 28x28 crops of the 2-pixel-padded image and left-right flips drawn anew
every epoch, cross-entropy with label smoothing 0.1, batch 128 (the last batch
smaller), SGD with Nesterov momentum 0.9, OneCycleLR to 0.2 (pct_start 0.25,
momentum not cycled, as tapegrad's), weight decay 5e-4 on the conv and linear
weights only, the test set evaluated after every epoch. Prints one line per
epoch and a final JSON line with the wall time (training and evaluation, data
loaded) and the test accuracy. Fashion-MNIST is read from --data-dir,
$TAPEGRAD_FASHION_DATA, /usr/share/datasets/fashion-mnist or
~/.cache/tapegrad/fashion-mnist (Debian: dataset-fashion-mnist).
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# The trainer's defaults (examples/common/resnet_recipe.hpp), also used by bench/torch_bench.py.
DEFAULTS = {"epochs": 10, "batch_size": 128, "lr": 0.2, "weight_decay": 5e-4, "label_smoothing": 0.1,
            "crop_padding": 2}

SEARCH = [os.environ.get("TAPEGRAD_FASHION_DATA", ""), "/usr/share/datasets/fashion-mnist",
          os.path.expanduser("~/.cache/tapegrad/fashion-mnist")]


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = [struct.unpack(">I", data[4 + 4 * i:8 + 4 * i])[0] for i in range(magic & 0xff)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def load(directory, split):
    prefix = "train" if split == "train" else "t10k"
    def find(kind):
        for name in (f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte.gz",
                     f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"):
            if os.path.exists(os.path.join(directory, name)):
                return os.path.join(directory, name)
        sys.exit(f"resnet_torch: no {prefix} {kind} in {directory}")
    x = torch.from_numpy(read_idx(find("images")).astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(read_idx(find("labels")).astype(np.int64))
    return x, y


class ResidualBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.shortcut(x) if self.shortcut is not None else x))


def resnet(widths=(16, 32, 64), blocks=1, classes=10):
    layers = [nn.Conv2d(1, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()]
    cin = widths[0]
    for stage, w in enumerate(widths):
        for b in range(blocks):
            layers.append(ResidualBlock(cin, w, 2 if stage > 0 and b == 0 else 1))
            cin = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    net = nn.Sequential(*layers)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return net


def augment(x, pad, generator):
    """Random 28x28 crops of the padded images and left-right flips, per image."""
    n = x.shape[0]
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    out = torch.empty_like(x)
    for oy in range(2 * pad + 1):
        for ox in range(2 * pad + 1):
            idx = ((dy == oy) & (dx == ox)).nonzero(as_tuple=True)[0]
            out[idx] = padded[idx, :, oy:oy + 28, ox:ox + 28]
    flip = torch.rand(n, generator=generator) < 0.5
    out[flip] = out[flip].flip(-1)
    return out


def make_optimizer(model, lr, weight_decay, total_steps, momentum=0.9):
    """SGD with Nesterov momentum, weight decay on the conv and linear weights only
    (batch norms and biases in a group without it), and the 1cycle schedule to lr
    over total_steps batches (pct_start 0.25, momentum not cycled)."""
    decayed = [p for p in model.parameters() if p.dim() > 1]
    not_decayed = [p for p in model.parameters() if p.dim() <= 1]
    opt = torch.optim.SGD([{"params": decayed}, {"params": not_decayed, "weight_decay": 0.0}], lr=lr,
                          momentum=momentum, nesterov=momentum > 0, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total_steps,
                                                   pct_start=0.25, cycle_momentum=False)
    return opt, schedule


def train_step(model, opt, schedule, x, y, label_smoothing):
    """One batch: cross-entropy with label smoothing, backward, SGD step, schedule step; the loss tensor."""
    loss = F.cross_entropy(model(x), y, label_smoothing=label_smoothing)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    schedule.step()
    return loss


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    p.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    p.add_argument("--weight-decay", type=float, default=DEFAULTS["weight_decay"])
    p.add_argument("--label-smoothing", type=float, default=DEFAULTS["label_smoothing"])
    p.add_argument("--crop-padding", type=int, default=DEFAULTS["crop_padding"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default="")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    start = time.perf_counter()
    dirs = [args.data_dir] if args.data_dir else SEARCH
    directory = next((d for d in dirs if d and os.path.isdir(d)), None)
    if directory is None:
        sys.exit("resnet_torch: Fashion-MNIST not found in " + ", ".join(d for d in dirs if d))
    train_x, train_y = load(directory, "train")
    test_x, test_y = load(directory, "test")

    model = resnet()
    steps_per_epoch = (len(train_x) + args.batch_size - 1) // args.batch_size
    opt, schedule = make_optimizer(model, args.lr, args.weight_decay, args.epochs * steps_per_epoch)
    accuracy = 0.0
    for epoch in range(args.epochs):
        epoch_start = time.perf_counter()
        model.train()
        x_all = augment(train_x, args.crop_padding, generator) if args.crop_padding > 0 else train_x
        order = torch.randperm(len(train_x), generator=generator)
        total_loss = 0.0
        for b in range(steps_per_epoch):
            idx = order[b * args.batch_size:(b + 1) * args.batch_size]
            x, y = x_all[idx], train_y[idx]
            loss = train_step(model, opt, schedule, x, y, args.label_smoothing)
            total_loss += loss.item() * len(idx)
        train_seconds = time.perf_counter() - epoch_start
        model.eval()
        correct = 0
        with torch.no_grad():
            for b in range(0, len(test_x), 1000):
                correct += (model(test_x[b:b + 1000]).argmax(1) == test_y[b:b + 1000]).sum().item()
        accuracy = correct / len(test_x)
        print(f"epoch {epoch + 1}/{args.epochs}  loss {total_loss / len(train_x):.4f}  "
              f"images/s {len(train_x) / train_seconds:.0f}  seconds {train_seconds:.1f}  test_accuracy {accuracy:.4f}",
              flush=True)
    wall = time.perf_counter() - start
    print(json.dumps({"wall_seconds": round(wall, 1), "test_accuracy": accuracy, "epochs": args.epochs,
                      "threads": args.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
