#!/usr/bin/env python3
"""CAC-Net in PyTorch eager fp32 (TF32 off), for the whole-network rows of bench/gpu-run.sh.

The same composition as bench/tfjs-cacnet.ts (itself the modules of src/net in the
same order), built from the parameter names and shapes that `bench/run.ts
--emit-specs FILE` writes to FILE-network.json, with random values (timing only):

    python3 bench/pytorch_cacnet.py --specs specs-network.json --merge pytorch.json

times, per configuration, the forward (eval, logits to the host) and one training
step (forward with deep supervision, Dice loss of eq. 3 + L2, backward, Adam, loss
to the host), first call included; and the forward over the scan suite's window
count (16x64x64 windows). Results go into the "networks" and "scan" fields of the
--merge JSON (bench/pytorch_ops.py's output), which `bench/run.ts --pytorch` reads.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

from pytorch_ops import eager_fp32, sync


def groups_for(channels, wanted):
    g = min(wanted, channels)
    while channels % g:
        g -= 1
    return g


class CacNet(torch.nn.Module):
    def __init__(self, config, shapes, device):
        super().__init__()
        self.c = config
        self.p = torch.nn.ParameterDict()
        self.running = {}
        for name, shape in shapes.items():
            k = name.replace(".", "/")
            if name.endswith(".weight") and len(shape) >= 4:  # [*K, Cin, Cout] -> [Cout, Cin, *K]
                shape = [shape[-1], shape[-2], *shape[:-2]]
            fill = torch.ones if name.endswith(".gamma") else torch.zeros if name.endswith((".beta", ".bias")) else None
            t = fill(shape) if fill else (torch.rand(shape) - 0.5) * 0.2
            self.p[k] = torch.nn.Parameter(t.to(device))
            if name.endswith(".gamma") and ".bn" in name:
                base = name[: -len(".gamma")]
                self.running[base] = (torch.zeros(shape, device=device), torch.ones(shape, device=device))
        self.names = set(shapes)

    def w(self, name):
        return self.p[name.replace(".", "/")]

    def conv(self, prefix, x):
        w = self.w(f"{prefix}.weight")
        f = F.conv2d if w.dim() == 4 else F.conv3d
        return f(x, w, self.w(f"{prefix}.bias"), padding=w.shape[-1] // 2)

    def bn(self, prefix, x):
        rm, rv = self.running[prefix]
        return F.batch_norm(x, rm, rv, self.w(f"{prefix}.gamma"), self.w(f"{prefix}.beta"), self.training, 0.1, 1e-5)

    def drop(self, x, rate):
        return F.dropout(x, rate, self.training) if rate else x

    def conv_block(self, prefix, x):
        r = self.c["dropout2d"]
        h = self.drop(F.relu(self.conv(f"{prefix}.conv1", self.bn(f"{prefix}.bn1", x))), r)
        return self.drop(F.relu(self.conv(f"{prefix}.conv3", self.bn(f"{prefix}.bn2", h))), r)

    def dense_block(self, prefix, x, layers):
        feats, inp = [], x
        for i in range(layers):
            feats.append(self.conv_block(f"{prefix}.layer{i}", inp))
            inp = torch.cat([x, *feats], 1)
        return torch.cat(feats, 1)

    def udensenet(self, x):
        c = self.c
        levels = (len(c["denseBlocks"]) - 1) // 2
        h = torch.cat([self.conv(f"udensenet.input{k}x{k}", x) for k in (3, 5, 7)], 1)
        skips, sizes = [], []
        for i in range(levels):
            sizes.append(h.shape[2:])
            s = torch.cat([h, self.dense_block(f"udensenet.down{i}", h, c["denseBlocks"][i])], 1)
            skips.append(s)
            t = self.drop(self.conv(f"udensenet.td{i}.conv", F.relu(self.bn(f"udensenet.td{i}.bn", s))), c["dropout2d"])
            h = F.max_pool2d(t, 2)
        u = self.dense_block("udensenet.bottleneck", h, c["denseBlocks"][levels])
        outs = []
        for j in range(levels):
            level = levels - 1 - j
            up = F.interpolate(u, size=sizes[level], mode="bilinear", align_corners=False)
            inp = up + self.conv(f"udensenet.skip{level}", skips[level])
            f = self.dense_block(f"udensenet.up{level}", inp, c["denseBlocks"][levels + 1 + j])
            outs.append(f)
            if level == 0:
                break
            u = inp + (self.conv(f"udensenet.proj{level}", f) if f"udensenet.proj{level}.weight" in self.names else f)
        full = sizes[0]
        return torch.cat([f if f.shape[2:] == full else F.interpolate(f, size=full, mode="bilinear", align_corners=False) for f in outs], 1)

    def conv_unit(self, prefix, x, cout):
        y = self.conv(f"{prefix}.conv", x)
        y = F.group_norm(y, groups_for(cout, self.c["groups3d"]), self.w(f"{prefix}.norm.gamma"), self.w(f"{prefix}.norm.beta"), 1e-5)
        return self.drop(F.relu(y), self.c["dropout3d"])

    def unet3d(self, x):
        c = self.c
        width = lambda l: c["baseChannels3d"] * 2**l
        skips, sizes, h = [], [], x
        for l in range(c["levels3d"]):
            if l > 0:
                h = F.max_pool3d(h, 2)
            sizes.append(h.shape[2:])
            h = self.conv_unit(f"unet3d.enc{l}b", self.conv_unit(f"unet3d.enc{l}a", h, width(l)), width(l))
            skips.append(h)
        by_level = {}
        for l in range(c["levels3d"] - 2, -1, -1):
            up = F.interpolate(h, size=sizes[l], mode="trilinear", align_corners=False)
            h = self.conv_unit(f"unet3d.dec{l}b", self.conv_unit(f"unet3d.dec{l}a", torch.cat([up, skips[l]], 1), width(l)), width(l))
            by_level[l] = h
        deep = []
        for l in range(1, min(len(c["supervisionWeights"]) - 1, c["levels3d"] - 2) + 1):
            deep.append(F.interpolate(self.conv(f"unet3d.deep{l}", by_level[l]), size=sizes[0], mode="trilinear", align_corners=False))
        return self.conv("unet3d.head", h), deep

    def forward(self, x):  # x [N, 1, D, H, W]
        n, _, d, h, w = x.shape
        f = self.udensenet(x.permute(0, 2, 1, 3, 4).reshape(n * d, 1, h, w))
        vol = f.reshape(n, d, -1, h, w).permute(0, 2, 1, 3, 4)
        if self.c.get("imageTo3d"):
            vol = torch.cat([vol, x], 1)
        return self.unet3d(vol.contiguous(memory_format=torch.channels_last_3d))

    def loss(self, x, labels):
        c = self.c
        out, deep = self.forward(x)
        onehot = F.one_hot(labels, c["classes"]).movedim(-1, 1).float()
        weight = torch.tensor([0.0] + [1.0] * (c["classes"] - 1), device=x.device)
        total = 0
        for t, logits in enumerate([out, *deep]):
            p = torch.softmax(logits, 1)
            dims = [0, 2, 3, 4]
            dice = (2 * (p * onehot).sum(dims) + c["diceSmooth"]) / ((p * p).sum(dims) + onehot.sum(dims) + c["diceSmooth"])
            total = total + c["supervisionWeights"][t] * ((1 - dice) * weight).sum()
        return total + c["l2"] * sum((v * v).sum() for v in self.parameters())


def timed(fn, device, samples):
    t0 = time.perf_counter()
    fn()
    sync(device)
    first = (time.perf_counter() - t0) * 1e3
    ms = []
    for _ in range(samples):
        t0 = time.perf_counter()
        fn()
        sync(device)
        ms.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": statistics.median(ms), "samples_ms": ms, "first_ms": first}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--specs", required=True, help="FILE-network.json from `bench/run.ts --emit-specs FILE`")
    ap.add_argument("--merge", required=True, help="bench/pytorch_ops.py's JSON: networks and scan are added to it")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--samples", type=int, default=5)
    a = ap.parse_args()
    eager_fp32()
    with open(a.specs) as f:
        spec = json.load(f)
    with open(a.merge) as f:
        merged = json.load(f)
    d, h, w = spec["patch"]
    dev = a.device
    g = torch.Generator(device="cpu").manual_seed(7)
    x = torch.rand([1, 1, d, h, w], generator=g).to(dev)
    labels = torch.randint(0, 4, [1, d, h, w], generator=g).to(dev)
    merged["networks"] = {}
    for name, entry in spec["configs"].items():
        net = CacNet(entry["config"], entry["params"], dev).to(memory_format=torch.channels_last)
        opt = torch.optim.Adam(net.parameters(), lr=3e-3)

        def forward():
            net.eval()
            with torch.no_grad():
                net(x)[0].cpu()

        def step():
            net.train()
            opt.zero_grad(set_to_none=True)
            loss = net.loss(x, labels)
            loss.backward()
            opt.step()
            loss.item()

        merged["networks"][name] = {"forward": timed(forward, dev, a.samples), "step": timed(step, dev, a.samples)}
        print(f"  pytorch cacnet {name}: forward {merged['networks'][name]['forward']['median_ms']:.1f} ms, step {merged['networks'][name]['step']['median_ms']:.1f} ms", flush=True)
        if name == "demo":
            wx = torch.rand([1, 1, 16, 64, 64], generator=g).to(dev)
            windows = spec["scanWindows"]

            def scan():
                net.eval()
                with torch.no_grad():
                    for _ in range(windows):
                        net(wx)[0].cpu()

            merged["scan"] = {**timed(scan, dev, 1), "windows": windows}
            print(f"  pytorch scan: {windows} windows in {merged['scan']['median_ms'] / 1e3:.2f} s", flush=True)
    with open(a.merge, "w") as f:
        json.dump(merged, f, indent=1)
    print(f"pytorch_cacnet: merged into {a.merge}")


if __name__ == "__main__":
    main()
