#!/usr/bin/python3
"""The char_lm trainer's model and recipe in PyTorch, for a side-by-side run on one machine.

Same corpus and split (Debian's fortunes, every tenth quotation held out), same
vocabulary (the corpus's bytes in byte order), same windows (a new offset each
pass over the training text, shuffled batches, whole batches only), same
networks, same Adam + warm-up + cosine-over-the-time-budget schedule, gradient
clipping and validation. Only the random streams differ (initialisation,
shuffling), so compare the bits per character each side reaches in the same
wall-clock budget:

    build/examples/char_lm --model lstm --minutes 4 --threads 1 &
    /usr/bin/python3 bench/char_lm_torch.py --model lstm --minutes 4 --threads 1

(run both at once with one thread each, so they share the machine's load alike.)
"""
import argparse
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# The trainer's defaults (examples/common/char_lm_model.hpp), also used by bench/torch_bench.py.
DEFAULTS = {"batch_size": 32, "seq_len": 64, "dropout": 0.0, "clip": 1.0, "warmup": 100}


def parse_fortunes(text):
    entries, entry = [], []
    lines = text.split(b"\n")
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        if line.endswith(b"\r"):
            line = line[:-1]
        if line == b"%":
            if entry:
                entries.append(b"".join(entry))
            entry = []
            continue
        if last and not line:
            break
        entry.append(line + (b"" if last else b"\n"))
    if entry:
        entries.append(b"".join(entry))
    return entries


def load_fortunes(directory):
    entries = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if os.path.islink(path) or not os.path.isfile(path) or os.path.splitext(name)[1]:
            continue
        with open(path, "rb") as f:
            entries.extend(parse_fortunes(f.read()))
    return entries


class CharModel(nn.Module):
    def __init__(self, kind, vocab, seq_len, dropout):
        super().__init__()
        self.kind = kind
        if kind == "lstm":
            self.embed = nn.Embedding(vocab, 64)
            self.lstm = nn.LSTM(64, 256, num_layers=2, batch_first=True, dropout=dropout)
            self.head = nn.Linear(256, vocab)
        else:
            d = 128
            self.embed = nn.Embedding(vocab, d)
            self.positions = nn.Embedding(seq_len, d)
            self.pos_dropout = nn.Dropout(dropout)
            layer = nn.TransformerEncoderLayer(d, 4, 4 * d, dropout, "gelu", 1e-5, batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, 4)
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab)
            self.register_buffer("causal", torch.triu(torch.full((seq_len, seq_len), float("-inf")), diagonal=1))

    def forward(self, ids):
        x = self.embed(ids)
        if self.kind == "lstm":
            return self.head(self.lstm(x)[0])
        t = ids.shape[1]
        x = self.pos_dropout(x + self.positions(torch.arange(t)))
        x = self.encoder(x, mask=self.causal[:t, :t])
        return self.head(self.norm(x))


def load_corpus(data_dir):
    """The fortunes split by quotation (every tenth held out), the vocabulary (the
    corpus's bytes in byte order) and both texts encoded: (entries, symbols, train, val)."""
    entries = load_fortunes(data_dir)
    train_text = b"".join(e + b"\n" for i, e in enumerate(entries) if i % 10 != 0)
    val_text = b"".join(e + b"\n" for i, e in enumerate(entries) if i % 10 == 0)
    symbols = sorted(set(train_text + val_text))
    index = {s: i for i, s in enumerate(symbols)}
    train_tokens = torch.tensor([index[b] for b in train_text], dtype=torch.int64)
    val_tokens = torch.tensor([index[b] for b in val_text], dtype=torch.int64)
    return entries, symbols, train_tokens, val_tokens


def default_lr(kind):
    return 4e-3 if kind == "lstm" else 2e-3


def learning_rate(peak, step, warmup, progress):
    """Linear warm-up over `warmup` steps, then a cosine to 5 % of the peak over the time budget."""
    return peak * ((step + 1) / warmup if step < warmup else 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def train_step(model, optimizer, x, y, vocab, clip, lr):
    """One step at learning rate lr: cross-entropy over every position, backward,
    gradient norm clipped at clip (0: none), Adam step; the loss tensor."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
    loss.backward()
    if clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss


def windows(tokens, length, offset):
    n = (len(tokens) - offset - 1) // length
    used = n * length
    return tokens[offset:offset + used].view(n, length), tokens[offset + 1:offset + 1 + used].view(n, length)


@torch.no_grad()
def evaluate(model, inputs, targets, max_windows, batch=64):
    model.eval()
    n = min(len(inputs), max_windows)
    nats = correct = 0.0
    for i in range(0, n, batch):
        x, y = inputs[i:i + batch][: n - i], targets[i:i + batch][: n - i]
        logits = model(x).reshape(-1, model.head.out_features)
        nats += F.cross_entropy(logits, y.reshape(-1)).item() * len(x)
        correct += (logits.argmax(1) == y.reshape(-1)).float().mean().item() * len(x)
    model.train()
    return nats / n, correct / n


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=["lstm", "transformer"], default="lstm")
    p.add_argument("--minutes", type=float, default=8.5)
    p.add_argument("--epochs", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    p.add_argument("--lr", type=float, default=None, help="default: 4e-3 for the LSTM, 2e-3 for the Transformer")
    p.add_argument("--seq-len", type=int, default=DEFAULTS["seq_len"])
    p.add_argument("--dropout", type=float, default=DEFAULTS["dropout"])
    p.add_argument("--clip", type=float, default=DEFAULTS["clip"])
    p.add_argument("--warmup", type=int, default=DEFAULTS["warmup"])
    p.add_argument("--eval-steps", type=int, default=250)
    p.add_argument("--eval-windows", type=int, default=512)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=os.environ.get("TAPEGRAD_FORTUNES", "/usr/share/games/fortunes"))
    a = p.parse_args()
    if a.lr is None:
        a.lr = default_lr(a.model)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    entries, symbols, train_tokens, val_tokens = load_corpus(a.data_dir)
    val_x, val_y = windows(val_tokens, a.seq_len, 0)
    model = CharModel(a.model, len(symbols), a.seq_len, a.dropout)
    print(f"char_lm (PyTorch {torch.__version__}, {torch.get_num_threads()} threads): {a.model}, {len(entries)} "
          f"quotations: {len(train_tokens)} training / {len(val_tokens)} validation characters, {len(symbols)} symbols, "
          f"{sum(q.numel() for q in model.parameters())} parameters", flush=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=a.lr)

    start = time.perf_counter()
    step = chars = 0
    round_nats, round_steps = 0.0, 0
    done = False
    for epoch in range(a.epochs):
        x_all, y_all = windows(train_tokens, a.seq_len, (epoch * 7919) % a.seq_len)
        g = torch.Generator().manual_seed(a.seed * 1000003 + epoch)
        order = torch.randperm(len(x_all), generator=g)
        for b in range(len(order) // a.batch_size):
            elapsed = (time.perf_counter() - start) / 60
            if elapsed >= a.minutes:
                done = True
                break
            progress = min(1.0, elapsed / a.minutes)
            lr = learning_rate(a.lr, step, a.warmup, progress)
            idx = order[b * a.batch_size:(b + 1) * a.batch_size]
            x, y = x_all[idx], y_all[idx]
            loss = train_step(model, optimizer, x, y, len(symbols), a.clip, lr)
            step += 1
            chars += x.numel()
            round_nats += loss.item()
            round_steps += 1
            if step % a.eval_steps == 0:
                nats, acc = evaluate(model, val_x, val_y, a.eval_windows)
                minutes = (time.perf_counter() - start) / 60
                print(f"step {step:6d}  {minutes:5.2f} min  train {round_nats / round_steps / math.log(2):.3f} bpc  "
                      f"val {nats / math.log(2):.3f} bpc (acc {acc:.3f})  lr {lr:.2e}  {chars / (minutes * 60):.0f} chars/s",
                      flush=True)
                round_nats, round_steps = 0.0, 0
        if done:
            break
    minutes = (time.perf_counter() - start) / 60
    nats, acc = evaluate(model, val_x, val_y, len(val_x))
    print(f"validation: {nats / math.log(2):.3f} bits per character (next-character accuracy {acc:.3f}) over "
          f"{val_x.numel()} characters, after {step} steps in {minutes:.2f} min ({chars / (minutes * 60):.0f} chars/s)")


if __name__ == "__main__":
    main()
