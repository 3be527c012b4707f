#!/usr/bin/env python3
"""Trains the small residual CNN of issue 6 ("End-to-end PTQ of a real network") on Fashion-MNIST.

A documented one-off: CI never runs it (too slow); the C++ side (src/exmy/ptq/network.hpp) reads the
committed outputs. Needs Debian python3-torch (1.13) and dataset-fashion-mnist.

    /usr/bin/python3 analysis/train_fashion_cnn.py [--epochs 5] [--out results/models]

Writes, under --out:
  fashion_cnn.safetensors        the weights (float32) and, in __metadata__["exmy_graph"], the graph
                                 the C++ forward pass executes (ops in topological order)
  fashion_cnn_train.log          the training log (loss and accuracy per epoch)
  fashion_cnn_predictions.txt    the eval-mode prediction (class 0-9) of every test image, one a line
  fashion_cnn_logits.safetensors the eval-mode logits of the first 1000 test images (float32)

Architecture (NCHW, input = pixel / 255 in float32, no other normalisation so that the C++ side
computes exactly the same input):
  stem:   conv1 1→16 3×3 + bn1 + relu                     28×28
  down1:  conv2 16→32 3×3 stride 2 + bn2 + relu           14×14
  down2:  conv3 32→48 3×3 stride 2 + bn3 + relu           7×7
  block:  conv4 48→48 + bn4 + relu, conv5 + bn5, add1 (+ down2 output), relu
  head:   global average pool, fc 48→10 (the logits)
Fixed seed, deterministic algorithms, torch.set_num_threads(1): on the shared two-core build machine
two torch threads spin-wait on each other and spent 5× the CPU time per step of one (measured:
0.70 s against 0.135 s per batch of 128).
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    """IDX (big-endian magic 0x0000 08 NN, NN uint32 sizes, unsigned bytes), gzip-compressed."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    assert zero == 0 and dtype == 0x08, path
    shape = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load(split):
    images = read_idx(os.path.join(DATA, f"{split}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(DATA, f"{split}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32)).unsqueeze(1) / 255.0
    return x, torch.from_numpy(labels.astype(np.int64))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        def cbn(cin, cout, stride=1):
            return nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        self.conv1, self.bn1 = cbn(1, 16)
        self.conv2, self.bn2 = cbn(16, 32, 2)
        self.conv3, self.bn3 = cbn(32, 48, 2)
        self.conv4, self.bn4 = cbn(48, 48)
        self.conv5, self.bn5 = cbn(48, 48)
        self.fc = nn.Linear(48, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        d = F.relu(self.bn3(self.conv3(x)))
        y = F.relu(self.bn4(self.conv4(d)))
        x = F.relu(self.bn5(self.conv5(y)) + d)
        x = torch.mean(x, dim=(2, 3))
        return self.fc(x)


def graph():
    """The forward pass above as the op list the C++ side executes (network.hpp)."""
    g = []
    def conv(name, src, stride):
        g.append({"name": name, "op": "conv2d", "inputs": [src], "weight": f"{name}.weight",
                  "stride": stride, "pad": 1})
    def bn(name, src):
        g.append({"name": name, "op": "batchnorm", "inputs": [src], "prefix": name, "eps": 1e-5})
    def relu(name, src):
        g.append({"name": name, "op": "relu", "inputs": [src]})
    conv("conv1", "input", 1); bn("bn1", "conv1"); relu("relu1", "bn1")
    conv("conv2", "relu1", 2); bn("bn2", "conv2"); relu("relu2", "bn2")
    conv("conv3", "relu2", 2); bn("bn3", "conv3"); relu("relu3", "bn3")
    conv("conv4", "relu3", 1); bn("bn4", "conv4"); relu("relu4", "bn4")
    conv("conv5", "relu4", 1); bn("bn5", "conv5")
    g.append({"name": "add1", "op": "add", "inputs": ["bn5", "relu3"]}); relu("relu5", "add1")
    g.append({"name": "pool", "op": "global_avg_pool", "inputs": ["relu5"]})
    g.append({"name": "fc", "op": "linear", "inputs": ["pool"], "weight": "fc.weight",
              "bias": "fc.bias"})
    return g


def write_safetensors(path, tensors, metadata):
    """safetensors by hand (python3-safetensors is not packaged): u64 LE header length, the JSON
    header (dtype, shape, data_offsets per tensor, __metadata__), then the raw little-endian data."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f4"))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # the format allows trailing spaces; aligns the data to 8 bytes
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def evaluate(model, x, y, batch=1000):
    model.eval()
    preds, logits = [], []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            z = model(x[i:i + batch])
            logits.append(z)
            preds.append(z.argmax(1))
    p = torch.cat(preds)
    return p, torch.cat(logits), (p == y).float().mean().item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=20240501)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "results", "models"))
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(a.out, exist_ok=True)
    xtr, ytr = load("train")
    xte, yte = load("t10k")

    model = Net()
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    steps = a.epochs * ((len(xtr) + a.batch - 1) // a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=max(steps, 1))
    gen = torch.Generator().manual_seed(a.seed)
    log = open(os.path.join(a.out, "fashion_cnn_train.log"), "w")

    def say(s):
        print(s, flush=True)
        log.write(s + "\n")
        log.flush()

    say(f"# exmy issue 6: residual CNN on Fashion-MNIST; torch {torch.__version__}, seed {a.seed}, "
        f"epochs {a.epochs}, batch {a.batch}, AdamW lr {a.lr} one-cycle, weight decay 1e-4, threads 1")
    t0 = time.time()
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(0, len(xtr), a.batch):
            idx = perm[i:i + a.batch]
            xb, yb = xtr[idx], ytr[idx]
            # Light augmentation: random horizontal flips (clothes are left-right symmetric).
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            z = model(xb)
            loss = F.cross_entropy(z, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
            correct += (z.argmax(1) == yb).sum().item()
            total += len(idx)
        _, _, acc = evaluate(model, xte, yte)
        say(f"epoch {epoch + 1}: train loss {loss_sum / total:.4f} train acc {correct / total:.4f} "
            f"test acc {acc:.4f} elapsed {time.time() - t0:.0f} s")

    preds, logits, acc = evaluate(model, xte, yte)
    say(f"final FP32 test accuracy {acc:.4f} ({int((preds == yte).sum())}/10000)")
    tensors = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    meta = {"exmy_graph": json.dumps(graph()), "input_shape": "[1,28,28]", "input_scale": "1/255",
            "dataset": "fashion-mnist", "seed": str(a.seed), "epochs": str(a.epochs),
            "test_accuracy": f"{acc:.4f}", "torch": torch.__version__}
    write_safetensors(os.path.join(a.out, "fashion_cnn.safetensors"), tensors, meta)
    write_safetensors(os.path.join(a.out, "fashion_cnn_logits.safetensors"),
                      {"logits": logits[:1000]}, {"images": "test 0..999", "model": "fashion_cnn"})
    with open(os.path.join(a.out, "fashion_cnn_predictions.txt"), "w") as f:
        f.write("".join(f"{int(p)}\n" for p in preds))
    say(f"wrote {a.out}")


if __name__ == "__main__":
    main()
