#!/usr/bin/python3
"""Compare two layout-v1 HDF5 files: every dataset (values bitwise, dtype, shape, string
width and padding, chunks, filters) and every root attribute (type and value).

    /usr/bin/python3 inputs/data/compare_h5.py NEW.h5 REFERENCE.h5

Prints one line per item and exits 1 if anything differs, apart from the attributes that
record when and by which script a file was made (created_utc, created_by).
"""
import sys

import h5py
import numpy as np

PROVENANCE = {"created_utc", "created_by"}


def describe(d):
    t = d.id.get_type()
    s = f"{d.dtype} {d.shape} chunks={d.chunks} filters={d.compression}/{d.compression_opts}" \
        f" shuffle={d.shuffle} fletcher32={d.fletcher32}"
    if isinstance(t, h5py.h5t.TypeStringID):
        s += f" strpad={t.get_strpad()} cset={t.get_cset()} vlen={t.is_variable_str()}"
    return s


def datasets(f):
    out = {}
    f.visititems(lambda k, o: out.__setitem__(k, o) if isinstance(o, h5py.Dataset) else None)
    return out


def attr_type(f, k):
    t = f.attrs.get_id(k).get_type()
    return f"{type(t).__name__}:{t.get_size()}" + \
        (f":pad{t.get_strpad()}" if isinstance(t, h5py.h5t.TypeStringID) else "")


def main(new_path, ref_path):
    bad = 0
    with h5py.File(new_path, "r") as new, h5py.File(ref_path, "r") as ref:
        dn, dr = datasets(new), datasets(ref)
        for k in sorted(set(dn) | set(dr)):
            if k not in dn or k not in dr:
                print(f"DIFF dataset {k}: only in {'new' if k in dn else 'reference'}")
                bad += 1
                continue
            a, b = dn[k][()], dr[k][()]
            same_layout = describe(dn[k]) == describe(dr[k])
            same_bytes = a.dtype == b.dtype and a.shape == b.shape and \
                np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()
            ok = same_layout and same_bytes
            print(f"{'same' if ok else 'DIFF'} dataset {k}: {describe(dn[k])}"
                  + ("" if same_layout else f" vs reference {describe(dr[k])}")
                  + ("" if same_bytes else " values differ"))
            bad += not ok
        for k in sorted(set(new.attrs) | set(ref.attrs)):
            if k not in new.attrs or k not in ref.attrs:
                print(f"DIFF attribute {k}: only in {'new' if k in new.attrs else 'reference'}")
                bad += 1
                continue
            va, vb = new.attrs[k], ref.attrs[k]
            ok = attr_type(new, k) == attr_type(ref, k) and va == vb
            tag = "same" if ok else ("differs (provenance)" if k in PROVENANCE else "DIFF")
            print(f"{tag} attribute {k}: {va!r}" + ("" if ok else f" vs reference {vb!r}"))
            bad += not ok and k not in PROVENANCE
    print(f"{new_path} vs {ref_path}: {'identical apart from provenance' if not bad else f'{bad} differences'}")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: compare_h5.py NEW.h5 REFERENCE.h5")
    sys.exit(main(sys.argv[1], sys.argv[2]))
