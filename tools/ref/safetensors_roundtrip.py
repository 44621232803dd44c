#!/usr/bin/env python3
"""Cross-check bertc's safetensors reader/writer against Python safetensors.

  safetensors_roundtrip.py check DIR   check every bertc_*.safetensors in DIR
  safetensors_roundtrip.py write DIR   write py_*.safetensors into DIR

Needs python3 with torch, numpy and safetensors (tested with 0.8.0). No data
moves between the two sides: both generate the same values from a formula
(keep in sync with tests/test_safetensors.c). Element i of a tensor, by dtype:
  F16/BF16/F32/F64: ((7i mod 19) - 9) / 4        (exact in every float type)
  I8: (7i mod 19) - 9   I16: (i-3)*1009   I32: (i-3)*100003   I64: (i-3)*1000000000007
  U8: 37i mod 2^8   U16: 4099i mod 2^16   U32: 2654435761i mod 2^32
  U64: 11400714819323198485i mod 2^64   BOOL: i mod 3 == 0
  other dtypes (F8_*): byte j of the buffer = (37j + 11) mod 2^8

"check" verifies, for each file, that safetensors opens it, that every tensor
has the expected name, dtype, shape and bytes, and that safetensors.torch.save
of the same tensors and metadata produces a byte-identical file (header text,
order, padding and data). Prints PASS/FAIL per file; exit status 1 on any FAIL.
"""
import os
import sys

import numpy as np
import safetensors
import torch
from safetensors import safe_open
from safetensors.torch import save, save_file

# name → (dtype, shape); the same sets as tests/test_safetensors.c
COMMON = [
    ("f32", "F32", (2, 3)), ("f16", "F16", (5,)), ("bf16", "BF16", (2, 2)),
    ("i32", "I32", (3,)), ("i64", "I64", (4,)), ("u8", "U8", (6,)),
    ("u16", "U16", (3,)), ("i8", "I8", (3,)), ("i16", "I16", (2,)),
    ("u32", "U32", (2,)), ("u64", "U64", (2,)), ("f64", "F64", (2,)),
    ("bool", "BOOL", (4,)), ("empty", "F32", (0, 3)), ("scalar", "F32", ()),
    ("unicod\u00e9.weight", "F32", (2,)),
]
BERT_LIKE = [
    ("bert.embeddings.word_embeddings.weight", "F32", (8, 4)),
    ("bert.embeddings.LayerNorm.weight", "F32", (4,)),
    ("bert.embeddings.LayerNorm.bias", "F32", (4,)),
    ("bert.embeddings.position_ids", "I64", (1, 8)),
    ("cls.predictions.bias", "F32", (8,)),
    ("bert.encoder.layer.0.attention.self.query.weight", "BF16", (4, 4)),
]
F8 = [("e5m2", "F8_E5M2", (5,)), ("e4m3", "F8_E4M3", (2, 3))]
SETS = {"common": COMMON, "bert_like": BERT_LIKE, "f8": F8}

TORCH = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
    "U16": getattr(torch, "uint16", None), "U32": getattr(torch, "uint32", None),
    "U64": getattr(torch, "uint64", None),
    "F8_E5M2": getattr(torch, "float8_e5m2", None), "F8_E4M3": getattr(torch, "float8_e4m3fn", None),
}
BITS = {"F64": 64, "I64": 64, "U64": 64, "F32": 32, "I32": 32, "U32": 32, "F16": 16, "BF16": 16,
        "I16": 16, "U16": 16, "I8": 8, "U8": 8, "BOOL": 8, "F8_E5M2": 8, "F8_E4M3": 8}


def expected_bytes(dtype, numel):
    i = np.arange(numel, dtype=np.int64)
    fv = ((7 * i) % 19 - 9) / 4.0
    if dtype == "F64":
        return fv.astype("<f8").tobytes()
    if dtype == "F32":
        return fv.astype("<f4").tobytes()
    if dtype == "F16":
        return fv.astype("<f2").tobytes()
    if dtype == "BF16":
        t = torch.from_numpy(fv.astype(np.float32)).to(torch.bfloat16)
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if dtype == "I8":
        return ((7 * i) % 19 - 9).astype("i1").tobytes()
    if dtype == "I16":
        return ((i - 3) * 1009).astype("<i2").tobytes()
    if dtype == "I32":
        return ((i - 3) * 100003).astype("<i4").tobytes()
    if dtype == "I64":
        return ((i - 3) * 1000000000007).astype("<i8").tobytes()
    if dtype == "U8":
        return ((37 * i) % 256).astype("u1").tobytes()
    if dtype == "U16":
        return ((4099 * i) % 65536).astype("<u2").tobytes()
    if dtype == "U32":
        return ((2654435761 * i) % 2**32).astype("<u4").tobytes()
    if dtype == "U64":
        return np.array([(11400714819323198485 * k) % 2**64 for k in range(numel)], dtype="<u8").tobytes()
    if dtype == "BOOL":
        return (i % 3 == 0).astype("u1").tobytes()
    nbytes = numel * BITS[dtype] // 8
    return bytes((37 * j + 11) % 256 for j in range(nbytes))


def make_tensor(dtype, shape):
    tdt = TORCH[dtype]
    if tdt is None:
        raise RuntimeError(f"this torch has no dtype for {dtype}")
    numel = int(np.prod(shape)) if shape else 1
    if numel == 0:
        return torch.empty(shape, dtype=tdt)
    raw = bytearray(expected_bytes(dtype, numel))
    return torch.frombuffer(raw, dtype=tdt).reshape(shape).clone()


def tensor_bytes(t):
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def set_for(filename):
    base = os.path.basename(filename)
    for key, spec in SETS.items():
        if base.endswith(f"_{key}.safetensors"):
            return spec
    return None


def check_file(path):
    spec = set_for(path)
    if spec is None:
        return f"no expectation for {os.path.basename(path)}"
    problems = []
    loaded = {}
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
        keys = set(f.keys())
        want = {name for name, _, _ in spec}
        if keys != want:
            problems.append(f"tensor names differ: extra {sorted(keys - want)}, missing {sorted(want - keys)}")
        for name, dtype, shape in spec:
            if name not in keys:
                continue
            t = f.get_tensor(name)
            loaded[name] = t
            if t.dtype != TORCH[dtype]:
                problems.append(f"{name}: dtype {t.dtype}, want {dtype}")
            if tuple(t.shape) != tuple(shape):
                problems.append(f"{name}: shape {tuple(t.shape)}, want {shape}")
            numel = int(np.prod(shape)) if shape else 1
            if tensor_bytes(t) != expected_bytes(dtype, numel):
                problems.append(f"{name}: data differs from the formula")
    if meta != {"format": "pt"}:
        problems.append(f"metadata {meta!r}, want {{'format': 'pt'}}")
    with open(path, "rb") as fp:
        ours = fp.read()
    ref = save(loaded, metadata=meta)
    if ours != ref:
        n_ours = int.from_bytes(ours[:8], "little")
        n_ref = int.from_bytes(ref[:8], "little")
        if ours[: 8 + n_ours] != ref[: 8 + n_ref]:
            problems.append("header bytes differ from safetensors.torch.save:\n  bertc:  "
                            + ours[8: 8 + n_ours].decode("utf-8", "replace")
                            + "\n  python: " + ref[8: 8 + n_ref].decode("utf-8", "replace"))
        else:
            problems.append("data bytes differ from safetensors.torch.save")
    return "; ".join(problems)


def cmd_check(d):
    files = sorted(p for p in os.listdir(d) if p.startswith("bertc_") and p.endswith(".safetensors"))
    if not files:
        print(f"FAIL no bertc_*.safetensors in {d}")
        return 1
    bad = 0
    for name in files:
        try:
            err = check_file(os.path.join(d, name))
        except Exception as e:  # a file safetensors refuses is a failure, not a crash
            err = f"{type(e).__name__}: {e}"
        print(("FAIL " if err else "PASS ") + name + (": " + err if err else
              " (Python reads bertc's file, values match, save() gives identical bytes)"))
        bad += bool(err)
    return 1 if bad else 0


def cmd_write(d):
    os.makedirs(d, exist_ok=True)
    bad = 0
    for key, spec in SETS.items():
        path = os.path.join(d, f"py_{key}.safetensors")
        try:
            tensors = {name: make_tensor(dtype, shape) for name, dtype, shape in spec}
            save_file(tensors, path, metadata={"format": "pt"})
            print(f"wrote {path} ({os.path.getsize(path)} bytes)")
        except Exception as e:
            print(f"FAIL writing {path}: {type(e).__name__}: {e}")
            bad += 1
    return 1 if bad else 0


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("check", "write"):
        print(__doc__)
        return 2
    print(f"safetensors {safetensors.__version__}, torch {torch.__version__}, numpy {np.__version__}")
    return cmd_check(sys.argv[2]) if sys.argv[1] == "check" else cmd_write(sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
