#!/usr/bin/env python3
"""Fixtures and expected values for tests/test_tensor_io.cpp, written by the independent oracles:
Debian python3-numpy (np.save / np.savez / np.savez_compressed / format.write_array) and
python3-onnx (onnx.helper, onnx.numpy_helper, onnx.load with external data).

usage: tensor_io_fixtures.py OUTDIR

Writes the fixture files into OUTDIR and OUTDIR/manifest.tsv, one line per check:
  T  file  name  dims  expected  file_dtype   a tensor: expected = raw little-endian float32 file
                                              (numpy's float32 conversion) or '-' (unsupported)
  O  file  name|name|...                      list_tensor_info order (all tensors)
  I  file  dims  sum  crc32                   an IDX file: shape, byte sum, zlib.crc32 of the data
ONNX fixtures are skipped (a line 'S onnx <reason>') when python3-onnx is missing.
"""
import gzip
import json
import os
import struct
import sys
import zlib

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
lines = []
counter = [0]


def expect(path, name, arr, file_dtype):
    """Records tensor `name` of `path`; arr=None marks an unsupported dtype."""
    dims = ",".join(str(d) for d in (arr.shape if arr is not None else ()))
    if arr is None:
        lines.append(f"T\t{path}\t{name}\t\t-\t{file_dtype}")
        return
    counter[0] += 1
    exp = os.path.join(out, f"expected_{counter[0]}.f32")
    with np.errstate(over="ignore"):
        np.ascontiguousarray(arr, dtype="<f4").tofile(exp)
    lines.append(f"T\t{path}\t{name}\t{dims}\t{exp}\t{file_dtype}")


def order(path, names):
    lines.append(f"O\t{path}\t{'|'.join(names)}")


rng = np.random.default_rng(20240511)

# --- .npy: format versions, byte orders, Fortran order, special values ---------------------------
def npy(fname, arr, version, name_dtype):
    p = os.path.join(out, fname)
    with open(p, "wb") as fh:
        np.lib.format.write_array(fh, arr, version=version)
    stem = fname[:-4]
    expect(p, stem, arr if arr.dtype.kind == "f" else None, name_dtype)
    order(p, [stem])

specials16 = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 6.0e-8, 65504.0, -1.5, 0.333], dtype="<f2")
npy("v1_f4.npy", rng.standard_normal((2, 3)).astype("<f4"), (1, 0), "<f4")
npy("v2_f8.npy", rng.standard_normal((3, 4)), (2, 0), "<f8")
npy("v3_be_f4.npy", rng.standard_normal(7).astype(">f4"), (3, 0), ">f4")
npy("fortran_be_f8.npy", np.asfortranarray(rng.standard_normal((2, 3, 4)).astype(">f8")), (1, 0), ">f8")
npy("fortran_f2.npy", np.asfortranarray(np.resize(specials16, (5, 3))), (1, 0), "<f2")
npy("be_f2.npy", specials16.astype(">f2"), (1, 0), ">f2")
npy("scalar_f8.npy", np.array(3.25e300), (1, 0), "<f8")  # beyond float32: inf after conversion
npy("empty_f4.npy", np.zeros((0, 3), dtype="<f4"), (1, 0), "<f4")
npy("int16.npy", np.arange(6, dtype="<i2").reshape(2, 3), (1, 0), "<i2")
npy("uint8.npy", np.arange(4, dtype="|u1"), (1, 0), "|u1")

# --- .npz: stored (savez) and deflated (savez_compressed) -------------------------------------
members = {
    "a": rng.standard_normal((3, 5)).astype("<f4"),
    "b": np.asfortranarray(rng.standard_normal((4, 2))),
    "c": np.arange(5, dtype="<i8"),
    "big": rng.standard_normal((300, 200)).astype("<f4"),  # > 64 KiB: several inflate chunks
    "half": np.resize(specials16, (3, 3)),
}
for fname, save in (("stored.npz", np.savez), ("deflated.npz", np.savez_compressed)):
    p = os.path.join(out, fname)
    save(p, **members)
    for k, v in members.items():
        expect(p, k, v if v.dtype.kind == "f" else None, v.dtype.str)
    order(p, list(members))

# --- safetensors, written by hand from the format description (no Python safetensors in Debian) --
def safetensors(fname, entries, metadata):
    header, blobs, off = {}, [], 0
    for name, dt, shape, raw in entries:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    p = os.path.join(out, fname)
    with open(p, "wb") as fh:
        fh.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    return p

f32 = rng.standard_normal((4, 6)).astype("<f4")
bf_src = rng.standard_normal((3, 2)).astype("<f4")
bf_bits = (bf_src.view("<u4") >> 16).astype("<u2")             # truncated bfloat16 patterns
bf_val = (bf_bits.astype("<u4") << 16).view("<f4")              # their float32 values
f16 = np.resize(specials16, (2, 4))
f64 = rng.standard_normal(5) * 1e3
i64 = np.arange(3, dtype="<i8")
st = safetensors("model.safetensors",
                 [("z.weight", "F32", f32.shape, f32.tobytes()),
                  ("a.bf16", "BF16", bf_bits.shape, bf_bits.tobytes()),
                  ("m.half", "F16", f16.shape, f16.astype("<f2").tobytes()),
                  ("b.double", "F64", f64.shape, f64.astype("<f8").tobytes()),
                  ("ids", "I64", i64.shape, i64.tobytes())],
                 {"format": "pt", "note": "exmy fixture"})
expect(st, "z.weight", f32, "F32")
expect(st, "a.bf16", bf_val, "BF16")
expect(st, "m.half", f16, "F16")
expect(st, "b.double", f64, "F64")
expect(st, "ids", None, "I64")
order(st, ["z.weight", "a.bf16", "m.half", "b.double", "ids"])

# --- real fixtures: Debian python-matplotlib-data -----------------------------------------------
mpl = "/usr/share/matplotlib/mpl-data/sample_data"
if os.path.isdir(mpl):
    p = f"{mpl}/axes_grid/bivariate_normal.npy"
    expect(p, "bivariate_normal", np.load(p), "<f8")
    p = f"{mpl}/topobathy.npz"
    d = np.load(p)
    for k in d.files:
        expect(p, k, d[k], d[k].dtype.str)
    order(p, d.files)
    p = f"{mpl}/jacksboro_fault_dem.npz"
    d = np.load(p)
    for k in d.files:
        expect(p, k, d[k] if d[k].dtype.kind == "f" else None, d[k].dtype.str)
    order(p, d.files)
    p = f"{mpl}/goog.npz"
    expect(p, "price_data", None, "structured")

# --- IDX (MNIST container): plain and gzip ------------------------------------------------------
imgs = rng.integers(0, 256, size=(3, 4, 5), dtype=np.uint8)
labels = np.array([7, 0, 255], dtype=np.uint8)
def idx(fname, arr, gz):
    raw = bytes([0, 0, 8, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape) + arr.tobytes()
    p = os.path.join(out, fname)
    with (gzip.open(p, "wb") if gz else open(p, "wb")) as fh:
        fh.write(raw)
    lines.append(f"I\t{p}\t{','.join(map(str, arr.shape))}\t{int(arr.astype(np.int64).sum())}\t{zlib.crc32(arr.tobytes())}")
idx("images.idx3", imgs, False)
idx("images.idx3.gz", imgs, True)
idx("labels.idx1.gz", labels, True)
fm = "/usr/share/datasets/fashion-mnist"
for part in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
    p = os.path.join(fm, part)
    if os.path.exists(p):
        raw = gzip.open(p).read()
        nd = raw[3]
        dims = struct.unpack(">" + "I" * nd, raw[4:4 + 4 * nd])
        data = np.frombuffer(raw[4 + 4 * nd:], dtype=np.uint8)
        lines.append(f"I\t{p}\t{','.join(map(str, dims))}\t{int(data.astype(np.int64).sum())}\t{zlib.crc32(data.tobytes())}")

# --- ONNX: initializers (raw and typed fields), Constant nodes, If/Loop subgraphs, external data --
try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:
    lines.append(f"S\tonnx\tpython3-onnx missing ({e})")
else:
    W = rng.standard_normal((4, 3)).astype(np.float32)
    H = rng.standard_normal((2, 2)).astype(np.float16)
    D = rng.standard_normal(3)
    TF = rng.standard_normal(6).astype(np.float32)
    init = [numpy_helper.from_array(W, "W"),
            numpy_helper.from_array(H, "H_raw"),
            helper.make_tensor("H_typed", TensorProto.FLOAT16, [2, 2], H.flatten().tolist()),
            numpy_helper.from_array(D, "D"),
            helper.make_tensor("T_typed", TensorProto.FLOAT, [2, 3], TF.tolist()),
            numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "shape_i64")]
    EXT = rng.standard_normal((10, 10)).astype(np.float32)
    ext = numpy_helper.from_array(EXT, "EXT")
    with open(os.path.join(out, "weights.bin"), "wb") as fh:
        fh.write(b"\0" * 16 + EXT.tobytes())
    onnx.external_data_helper.set_external_data(ext, "weights.bin", offset=16, length=EXT.nbytes)
    ext.ClearField("raw_data")  # set_external_data sets data_location = EXTERNAL
    init.append(ext)
    C1 = rng.standard_normal((2, 3)).astype(np.float32)
    B1 = rng.standard_normal((3, 3)).astype(np.float32)
    B2 = rng.standard_normal((3, 3)).astype(np.float32)
    LW = rng.standard_normal(4).astype(np.float32)
    then_g = helper.make_graph([helper.make_node("Constant", [], ["branch_w"], value=numpy_helper.from_array(B1))],
                               "then", [], [helper.make_tensor_value_info("branch_w", TensorProto.FLOAT, [3, 3])])
    else_g = helper.make_graph([helper.make_node("Constant", [], ["branch_w"], value=numpy_helper.from_array(B2))],
                               "else", [], [helper.make_tensor_value_info("branch_w", TensorProto.FLOAT, [3, 3])])
    body = helper.make_graph([helper.make_node("Identity", ["cond_in"], ["cond_out"]),
                              helper.make_node("Add", ["v_in", "LW"], ["v_out"])], "body",
                             [helper.make_tensor_value_info("iter", TensorProto.INT64, []),
                              helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
                              helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [4])],
                             [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
                              helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [4])],
                             initializer=[numpy_helper.from_array(LW, "LW")])
    nodes = [helper.make_node("Constant", [], ["C1"], value=numpy_helper.from_array(C1)),
             helper.make_node("Constant", [], ["CF"], value_floats=[1.5, -2.25, 3.0]),
             helper.make_node("Constant", [], ["CS"], value_float=0.125),
             helper.make_node("Constant", [], ["CI"], value_ints=[1, 2]),
             helper.make_node("If", ["cond"], ["y"], name="if0", then_branch=then_g, else_branch=else_g),
             helper.make_node("Loop", ["trip", "cond", "v0"], ["v_final"], name="loop0", body=body)]
    graph = helper.make_graph(nodes, "fixture",
                              [helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
                               helper.make_tensor_value_info("trip", TensorProto.INT64, []),
                               helper.make_tensor_value_info("v0", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 3])],
                              initializer=init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 16)])
    p = os.path.join(out, "model.onnx")
    onnx.save(model, p)

    # Oracle: onnx.load (with its own external-data loader) and numpy_helper.to_array, walking the
    # graph as the reader documents (initializers, then nodes; Constant values; subgraphs in place;
    # a repeated name is qualified with its graph path "node.attr").
    m = onnx.load(p, load_external_data=True)
    seen, names = set(), []
    def add(name, arr, dt, path):
        if name in seen and path:
            name = path + "/" + name
        seen.add(name)
        names.append(name)
        expect(p, name, arr, dt)
    def walk(g, path):
        for t in g.initializer:
            dt = TensorProto.DataType.Name(t.data_type)
            a = numpy_helper.to_array(t)
            add(t.name, a if a.dtype.kind == "f" else None, dt, path)
        for n in g.node:
            if n.op_type == "Constant":
                for a in n.attribute:
                    if a.name == "value":
                        add(n.output[0], numpy_helper.to_array(a.t), TensorProto.DataType.Name(a.t.data_type), path)
                    elif a.name == "value_floats":
                        add(n.output[0], np.array(a.floats, dtype=np.float32), "FLOAT", path)
                    elif a.name == "value_float":
                        add(n.output[0], np.array(a.f, dtype=np.float32), "FLOAT", path)
                    elif a.name.startswith("value"):
                        add(n.output[0], None, "INTS", path)
            for a in n.attribute:
                sub = (path + "/" if path else "") + n.name + "." + a.name
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g, sub)
    walk(m.graph, "")
    order(p, names)

with open(os.path.join(out, "manifest.tsv"), "w") as fh:
    fh.write("\n".join(lines) + "\n")
