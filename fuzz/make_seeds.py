#!/usr/bin/python3
"""Writes the seed corpora of the parser fuzz targets (issue 8): format names, distribution specs,
command lines of the four tools and small networks. One-off; the files are committed under
fuzz/corpus/<target>/ (regression inputs found by fuzzing sit beside them as regress-*)."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    os.makedirs(os.path.join(HERE, "corpus", target), exist_ok=True)
    with open(os.path.join(HERE, "corpus", target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# Format names: every family of parse_format and the list forms (fuzz_format.cpp: first byte = bits).
formats = ["e4m3", "e5m2", "e4m3fn", "e5m2ieee", "e4m3fnuz", "e5m2fnuz", "e3m4ieee", "e2m3fn",
           "e3m2fn", "e2m1fn", "fp16", "bf16", "int8", "int8n", "uint8", "int8a", "uint8a", "int4",
           "int16", "ue4m3", "e4m3fn.nosat", "e5m2ieee.nosat.ftz", "e4m3.sat", "E4M3 ", "e1m14",
           "e10m5", "paper", "all", "e4m3,int8,paper", "e5m2, e4m3 ,all"]
for i, f in enumerate(formats):
    put("format", "seed-%02d" % i, bytes([8 + i % 9]) + f.encode())

# Distribution specs (distribution_spec.cpp grammar).
dists = ["uniform:lo=-1,hi=1", "normal:mu=0,sigma=1,clip=10", "student_t:nu=8,clip=100",
         "student_t:nu=1.5,scale=2,mu=0.5,trunc=4", "laplace:b=1,clip=20", "laplace:mu=1,b=0.5",
         "normal:sigma=3,clip_lo=-1,clip_hi=5", "normal:trunc_lo=0", "uniform:lo=0,hi=1e-300",
         "student_t:nu=3", "normal:mu=1e300,sigma=1e-300,clip=1e308"]
for i, d in enumerate(dists):
    put("distribution", "seed-%02d" % i, d)

# Command lines: first byte picks the tool (0 compute_quant_error, 1 exmy-formats, 2 exmy-ptq,
# 3 exmy-tune), then NUL-separated arguments (fuzz_cli.cpp).
clis = [
    (0, ["--dist", "normal:sigma=1,clip=10", "--formats", "all", "--bits", "6", "--range", "optimal",
         "--output", "csv", "--threads", "2"]),
    (0, ["--formats", "e4m3", "--range", "fixed", "--maxval", "3.5", "--rounding", "stochastic",
         "--method", "both", "--samples", "1e6", "--seed", "7", "--device", "cpu"]),
    (0, ["--sweep-maxval", "0.1:1000:400", "--dist", "laplace:b=1,clip=20", "--formats", "e4m3",
         "--output", "json", "-o", "out.json"]),
    (1, ["--formats", "e4m3fn,e5m2ieee,int8", "--output", "json"]),
    (2, ["model.safetensors", "--formats", "paper", "--granularity", "block:32:1:ceil",
         "--estimator", "kl", "--kl-bins", "1024", "--kl-start-bin", "64",
         "--kl-grouping", "uniform_levels", "--rounding", "sr", "--scale", "hardware"]),
    (2, ["m.npz", "--granularity", "group:64:0:asym", "--asymmetric", "--estimator", "percentile",
         "--percentile", "99.9", "--include", "^conv[0-9]+\\.weight$", "--write", "q.npy",
         "--write-format", "uint8a", "--device", "cuda:1", "--predict-optimal", "all"]),
    (2, ["m.onnx", "--estimator", "mse", "--mantissa-vote", "--granularity", "channel:1",
         "--export", "codes.safetensors", "--reduce-range", "--no-fit", "--output", "csv"]),
    (3, ["--formats", "e4m3,e3m4,int8", "--tolerable-loss", "0.01", "--strategy", "sensitivity",
         "--measure", "tensor", "--widen", "e5m2", "--max-trials", "5", "--timeout", "60",
         "--calib", "10", "--eval-images", "100", "--bn", "reestimate", "--acts", "dynamic"]),
    (3, ["--evaluate", "--op-types", "conv2d,linear", "--keep-first-conv", "--per-tensor-weights",
         "--act-estimator", "mse", "--weight-estimator", "kl", "--rounding", "rna", "-o", "t.json"]),
]
for i, (tool, args) in enumerate(clis):
    put("cli", "seed-%02d" % i, bytes([tool]) + b"\0".join(a.encode() for a in args))


# Networks: safetensors files with an exmy_graph (network.hpp), tiny weights.
def safetensors(tensors, metadata):
    header, blob = {"__metadata__": metadata}, b""
    for name, shape in tensors:
        n = 1
        for s in shape:
            n *= s
        data = struct.pack("<%df" % n, *[0.01 * ((7 * k) % 13 - 6) for k in range(n)])
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + blob


graph = [
    {"name": "conv1", "op": "conv2d", "inputs": ["input"], "weight": "conv1.weight", "stride": 1, "pad": 1},
    {"name": "bn1", "op": "batchnorm", "inputs": ["conv1"], "prefix": "bn1", "eps": 1e-05},
    {"name": "relu1", "op": "relu", "inputs": ["bn1"]},
    {"name": "conv2", "op": "conv2d", "inputs": ["relu1"], "weight": "conv2.weight", "bias": "conv2.bias", "stride": 2, "pad": 0},
    {"name": "relu2", "op": "relu", "inputs": ["conv2"]},
    {"name": "add1", "op": "add", "inputs": ["relu2", "conv2"]},
    {"name": "pool", "op": "global_avg_pool", "inputs": ["add1"]},
    {"name": "fc", "op": "linear", "inputs": ["pool"], "weight": "fc.weight", "bias": "fc.bias"},
]
tensors = [("conv1.weight", [2, 1, 3, 3]), ("bn1.weight", [2]), ("bn1.bias", [2]),
           ("bn1.running_mean", [2]), ("bn1.running_var", [2]), ("conv2.weight", [3, 2, 3, 3]),
           ("conv2.bias", [3]), ("fc.weight", [4, 3]), ("fc.bias", [4])]
put("network", "cnn.safetensors",
    safetensors(tensors, {"exmy_graph": json.dumps(graph), "input_shape": "[1,6,6]"}))
put("network", "linear.safetensors",
    safetensors([("fc.weight", [2, 5])],
                {"exmy_graph": json.dumps([{"name": "fc", "op": "linear", "inputs": ["input"],
                                            "weight": "fc.weight"}]),
                 "input_shape": "[5]"}))
