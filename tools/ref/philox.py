#!/usr/bin/env python3
"""Philox4x32-10 in numpy, bit-identical to src/core/rng.c, and the fixture
weight rule built on it (docs/fixtures.md states the rule for the C side).

  philox.py selftest          Random123 known answers + rng.c draw layout
  philox.py dump SEED STREAM N  print rng_u32 words 0..N-1, one hex per line
  philox.py fill SEED P N LN     print the fixture weights 0..N-1 of parameter
                                 number P (LN=1: a LayerNorm weight) as %.9g
  (tools/ref/fill_check.sh compares both with src/core/rng.c)

Element `index` of a draw keyed (seed, stream, step) is lane (index & 3) of the
block with key = (seed lo32, seed hi32) and
counter = (block lo32, block hi32, step, stream), block = index >> 2.

All arithmetic is on uint32 arrays; the 32x32 -> 64 products are taken in
uint64 explicitly so no platform integer width leaks in.
"""
import sys

import numpy as np

M0 = np.uint64(0xD2511F53)
M1 = np.uint64(0xCD9E8D57)
W0 = 0x9E3779B9
W1 = 0xBB67AE85
MASK32 = np.uint64(0xFFFFFFFF)
SHIFT32 = np.uint64(32)

RNG_STREAM_FIXTURE = 5 << 24

# Random123 kat_vectors, philox4x32 with 10 rounds: ctr[4], key[2], out[4]
# (the same three cases as tests/test_rng.c)
KNOWN_ANSWERS = [
    ([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    ([0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
    ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0],
     [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
]


def philox4x32(c0, c1, c2, c3, k0, k1):
    """Ten rounds over arrays (or scalars) of counters; key words are Python ints.
    Returns four uint32 arrays."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint32) for c in (c0, c1, c2, c3))
    c0, c1, c2, c3 = np.broadcast_arrays(c0, c1, c2, c3)
    k0 &= 0xFFFFFFFF
    k1 &= 0xFFFFFFFF
    for _ in range(10):
        p0 = M0 * c0.astype(np.uint64)  # [n] full 64-bit products
        p1 = M1 * c2.astype(np.uint64)
        hi0 = (p0 >> SHIFT32).astype(np.uint32)
        lo0 = (p0 & MASK32).astype(np.uint32)
        hi1 = (p1 >> SHIFT32).astype(np.uint32)
        lo1 = (p1 & MASK32).astype(np.uint32)
        c0, c1, c2, c3 = hi1 ^ c1 ^ np.uint32(k0), lo1, hi0 ^ c3 ^ np.uint32(k1), lo0
        k0 = (k0 + W0) & 0xFFFFFFFF
        k1 = (k1 + W1) & 0xFFFFFFFF
    return c0, c1, c2, c3


def u32(seed, stream, start, n, step=0):
    """rng_u32(k, index) for index = start .. start+n-1, as a uint32 array [n]."""
    if n == 0:
        return np.zeros(0, dtype=np.uint32)
    b0, b1 = start >> 2, (start + n - 1) >> 2
    blk = np.arange(b0, b1 + 1, dtype=np.uint64)  # [nblocks]
    lo = (blk & MASK32).astype(np.uint32)
    hi = (blk >> SHIFT32).astype(np.uint32)
    o = philox4x32(lo, hi, np.uint32(step), np.uint32(stream), seed & 0xFFFFFFFF, seed >> 32)
    words = np.stack(o, axis=1).reshape(-1)  # [nblocks*4], lane-major within a block
    off = start - 4 * b0
    return words[off:off + n]


def uniform(seed, stream, start, n, step=0):
    """rng_uniform: (word >> 8) * 2^-24, exact in float64 (and in float32). [n] float64"""
    return (u32(seed, stream, start, n, step) >> np.uint32(8)).astype(np.float64) * (1.0 / 16777216.0)


FIXTURE_SCALE = 0.02
TWO_SQRT3 = 3.4641016151377544  # nearest double to 2*sqrt(3)


def is_layernorm_weight(name):
    return name.endswith("LayerNorm.weight") or name.endswith("layernorm.weight")


def fixture_param(seed, p, name, shape, chunk=1 << 24):
    """Fixture weight for parameter number p (index in the sorted unique name
    list), float32 array of `shape`, element i in row-major order:
      w = (float)(0.02 * 3.4641016151377544 * (u - 0.5))        most tensors
      w = (float)(1.0 + 0.02 * 3.4641016151377544 * (u - 0.5))  LayerNorm weights
    u = rng_uniform({seed, RNG_STREAM_FIXTURE | p, step 0}, i), all in double,
    one rounding to float at the end."""
    n = int(np.prod(shape)) if len(shape) else 1
    out = np.empty(n, dtype=np.float32)
    ln = is_layernorm_weight(name)
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        w = FIXTURE_SCALE * TWO_SQRT3 * (uniform(seed, RNG_STREAM_FIXTURE | p, s, m) - 0.5)
        if ln:
            w = 1.0 + w
        out[s:s + m] = w.astype(np.float32)
    return out.reshape(shape)


def projection_vectors(seed, p, numel, k, start_j=0, chunk=1 << 24):
    """Yields (j, r_j) for j in start_j..k-1: r_j[i] = 2*u - 1 (double, exact) with
    u = rng_uniform({seed, RNG_STREAM_FIXTURE | (1000 + p), 0}, j*numel + i)."""
    for j in range(start_j, k):
        r = np.empty(numel, dtype=np.float64)
        for s in range(0, numel, chunk):
            m = min(chunk, numel - s)
            r[s:s + m] = 2.0 * uniform(seed, RNG_STREAM_FIXTURE | (1000 + p), j * numel + s, m) - 1.0
        yield j, r


def selftest():
    ok = True
    for ctr, key, want in KNOWN_ANSWERS:
        got = philox4x32(*[np.uint32(c) for c in ctr], key[0], key[1])
        got = [int(g) for g in got]
        if got != want:
            print("FAIL known answer ctr=%s: got %s want %s" % (
                [hex(c) for c in ctr], [hex(g) for g in got], [hex(w) for w in want]))
            ok = False
    # draw layout: a window starting mid-block equals the same slice of a longer draw
    a = u32(0x123456789, RNG_STREAM_FIXTURE | 7, 0, 64)
    b = u32(0x123456789, RNG_STREAM_FIXTURE | 7, 5, 50)
    if not np.array_equal(a[5:55], b):
        print("FAIL offset draw differs from the slice of a full draw")
        ok = False
    # a block index past 2^32 uses the high counter word
    c = u32(1, 2, (1 << 34) + 3, 2)
    d = philox4x32(np.uint32(0), np.uint32(1), np.uint32(0), np.uint32(2), 1, 0)
    if int(c[0]) != int(d[3]):
        print("FAIL high block word")
        ok = False
    print("philox selftest:", "PASS" if ok else "FAIL")
    return ok


def main(argv):
    if len(argv) >= 2 and argv[1] == "selftest":
        return 0 if selftest() else 1
    if len(argv) == 5 and argv[1] == "dump":
        seed, stream, n = int(argv[2], 0), int(argv[3], 0), int(argv[4], 0)
        for w in u32(seed, stream, 0, n):
            print("%08x" % int(w))
        return 0
    if len(argv) == 6 and argv[1] == "fill":
        seed, p, n, ln = (int(a, 0) for a in argv[2:6])
        w = fixture_param(seed, p, "x.LayerNorm.weight" if ln else "x.weight", (n,))
        for v in w:
            print("%.9g" % float(v))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
