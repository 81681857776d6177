#!/usr/bin/env python3
"""PyTorch on the same ops and shapes as bench/'s op and conv rows, for a cuDNN ratio.

The shapes come from the benchmark itself, never from a copy:

    npx tsx bench/run.ts --emit-specs /tmp/specs.json
    python3 bench/pytorch_ops.py --specs /tmp/specs.json --out /tmp/pytorch.json
    npx tsx bench/run.ts --adapter hardware --pytorch /tmp/pytorch.json

bench/gpu-run.sh does all three. Method, as in bench/: one call per sample, the
median of the samples after warm-up calls, and a call ends when its outputs are
on the host (``.cpu()``), like cacnet's read() and tfjs's data(); fp32 with TF32
off. Tensors use
the channels-last memory formats, cacnet's and tfjs's layout. Needs torch
(any recent 2.x); --device cpu works without a GPU.
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def cf(shape):
    """Channels-last [N, *S, C] -> channels-first sizes [N, C, *S] (memory stays channels-last)."""
    return [shape[0], shape[-1], *shape[1:-1]]


def make(shape, device, seed, lo=-1.0, hi=1.0, grad=False):
    g = torch.Generator(device="cpu").manual_seed(seed)
    t = torch.rand(cf(shape), generator=g) * (hi - lo) + lo
    t = t.to(device)
    if t.dim() == 4:
        t = t.contiguous(memory_format=torch.channels_last)
    elif t.dim() == 5:
        t = t.contiguous(memory_format=torch.channels_last_3d)
    return t.requires_grad_(grad)


def weights(wshape, device, seed):
    """cacnet/tfjs weights [*K, Cin, Cout] -> torch [Cout, Cin, *K]."""
    *k, cin, cout = wshape
    g = torch.Generator(device="cpu").manual_seed(seed)
    w = (torch.rand([cout, cin, *k], generator=g) * 0.6 - 0.3).to(device)
    return w


def build(spec, device):
    """Returns a function that runs the row's work once and returns its outputs."""
    op, pas, xs = spec["op"], spec["pass"], spec["x"]
    fb = pas == "forward_backward"

    if op == "conv":
        w = weights(spec["w"], device, 2)
        k = spec["w"][0]
        dims = len(xs) - 2
        pad = k // 2
        conv = F.conv2d if dims == 2 else F.conv3d
        x = make(xs, device, 1)
        ys = [*xs[:-1], spec["w"][-1]]
        dy = make(ys, device, 3)
        if pas == "forward":
            return lambda: [conv(x, w, padding=pad)]
        if pas == "dX":
            fn = torch.nn.grad.conv2d_input if dims == 2 else torch.nn.grad.conv3d_input
            return lambda: [fn(x.shape, w, dy, padding=pad)]
        fn = torch.nn.grad.conv2d_weight if dims == 2 else torch.nn.grad.conv3d_weight
        return lambda: [fn(x, w.shape, dy, padding=pad)]

    if op in ("maxpool3d", "bilinear", "trilinear"):
        x = make(xs, device, 11, grad=fb)
        if op == "maxpool3d":
            f = lambda t: F.max_pool3d(t, 2)
        else:
            mode = "bilinear" if op == "bilinear" else "trilinear"
            size = spec["size"]
            f = lambda t: F.interpolate(t, size=size, mode=mode, align_corners=False)
        if not fb:
            return lambda: [f(x)]
        with torch.no_grad():
            dy = torch.rand_like(f(x)) * 2 - 1
        return lambda: list(torch.autograd.grad(f(x), [x], dy))

    if op in ("batchnorm", "groupnorm"):
        c = xs[-1]
        x = make(xs, device, 41, -2.0, 3.0, grad=fb)
        gamma = (torch.rand(c, device=device) + 0.5).requires_grad_(fb)
        beta = (torch.rand(c, device=device) * 2 - 1).requires_grad_(fb)
        if op == "batchnorm":
            rm = torch.zeros(c, device=device)
            rv = torch.ones(c, device=device)
            f = lambda: F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=0.1, eps=1e-5)
        else:
            groups = spec["groups"]
            f = lambda: F.group_norm(x, groups, gamma, beta, eps=1e-5)
        if not fb:
            return lambda: [f()]
        dy = make(xs, device, 42)
        return lambda: list(torch.autograd.grad(f(), [x, gamma, beta], dy))

    if op == "softmax_dice":
        classes = spec["classes"]
        logits = make(xs, device, 61, -3.0, 3.0, grad=fb)
        g = torch.Generator(device="cpu").manual_seed(62)
        labels = torch.randint(0, classes, cf(xs)[0:1] + cf(xs)[2:], generator=g).to(device)
        weight = torch.tensor([0.0] + [1.0] * (classes - 1), device=device)
        dims = [0, *range(2, len(xs))]

        def loss():
            p = torch.softmax(logits, dim=1)
            onehot = F.one_hot(labels, classes).movedim(-1, 1).to(p.dtype)
            inter = (p * onehot).sum(dims)
            denom = (p * p).sum(dims) + onehot.sum(dims)
            dice = (2 * inter + 1) / (denom + 1)
            return ((1 - dice) * weight).sum()

        if not fb:
            return lambda: [loss()]
        return lambda: list(torch.autograd.grad(loss(), [logits]))

    raise ValueError(f"unknown op {op!r}")


def eager_fp32():
    """Eager fp32: no TF32 in matmuls or convolutions (cuDNN allows it by default); cuDNN picks its algorithms."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_row(fn, device, warmup, samples, budget):
    for _ in range(warmup):
        [o.cpu() for o in fn()]
    sync(device)
    out = []
    t_end = time.perf_counter() + budget
    while len(out) < samples or (time.perf_counter() < t_end and len(out) < 10 * samples):
        t0 = time.perf_counter()
        [o.cpu() for o in fn()]
        out.append((time.perf_counter() - t0) * 1e3)
        if len(out) >= samples and time.perf_counter() >= t_end:
            break
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--specs", required=True, help="JSON from `bench/run.ts --emit-specs`")
    ap.add_argument("--out", required=True, help="where the timings go (read by `bench/run.ts --pytorch`)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--budget", type=float, default=1.0, help="seconds a row keeps sampling once it has --samples")
    a = ap.parse_args()

    eager_fp32()
    with open(a.specs) as f:
        specs = json.load(f)
    device = a.device
    name = torch.cuda.get_device_name() if device.startswith("cuda") else "cpu"
    rows = {}
    for s in specs:
        try:
            fn = build(s["spec"], device)
            ms = time_row(fn, device, a.warmup, a.samples, a.budget)
            rows[s["name"]] = {"median_ms": statistics.median(ms), "samples_ms": ms}
            print(f"  {s['name']:<56} {statistics.median(ms):10.3f} ms  ({len(ms)} samples)", flush=True)
        except Exception as e:  # one failing row must not lose the others
            print(f"  {s['name']:<56} FAILED: {e}", file=sys.stderr, flush=True)
    result = {
        "torch": torch.__version__,
        "cudnn": str(torch.backends.cudnn.version()) if torch.backends.cudnn.is_available() else "none",
        "device": name,
        "rows": rows,
    }
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"pytorch_ops: {len(rows)}/{len(specs)} rows on {name}, written to {a.out}")


if __name__ == "__main__":
    main()
