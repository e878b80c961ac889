#!/usr/bin/python3
"""The Sierpinski carpet's cells, for postproc/paper_figures.py (not a script).

The level-L carpet on [0, side]^2 is the grid of 3^L x 3^L cells without those where, at some
base-3 digit position, both cell indices have the digit 1. A hole "of level k" is the set of
cells whose first such position (most significant first) is k: the central ninth is the one
hole of level 1, the 8 holes of level 2 are the centres of the remaining 8 squares, and so on.
"""

import numpy as np


def _digits(x, level, side):
    """Cell indices of the points (rows of x) and their base-3 digits, most significant first:
    (inside_square [n], digits [n, 2, level])."""
    cells = 3 ** level
    idx = np.floor(np.asarray(x, dtype=float) / side * cells).astype(np.int64)
    ok = np.all((idx >= 0) & (idx < cells), axis=1)
    idx = np.clip(idx, 0, cells - 1)
    digits = np.stack([(idx // 3 ** (level - 1 - k)) % 3 for k in range(level)], axis=-1)
    return ok, digits


def hole_level(x, level, side):
    """For each point: 0 on the carpet, k in a hole of level k, -1 outside the square."""
    ok, digits = _digits(x, level, side)
    both = np.all(digits == 1, axis=1)  # [n, level]: both indices have digit 1 at position k
    first = np.where(both.any(axis=1), np.argmax(both, axis=1) + 1, 0)
    return np.where(ok, first, -1)


def inside(x, level, side):
    """Whether each point lies in a filled cell of the carpet."""
    return hole_level(x, level, side) == 0


def hole_mass(x, level, side):
    """[(share of the points in holes of level k, share of the square those holes cover)] for
    k = 1..level; a uniform cloud on the square scores equal shares, the carpet itself 0."""
    h = hole_level(x, level, side)
    return [(float(np.mean(h == k)), (8 / 9) ** (k - 1) / 9) for k in range(1, level + 1)]
