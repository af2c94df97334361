"""Converts a PyTorch checkpoint of the authors' code into the plain HDF5 weight layout.

Usage: pth_to_h5.py IN.pth OUT.h5

Reads `model_state_dict` (or the file itself when it is a flat state dict), removes the
`_orig_mod.` / `module.` prefixes that torch.compile and DistributedDataParallel add, and writes
every tensor as float32 /state_dict/<key>. `wsdiff import` calls this with the project's venv.
"""
import pickle
import sys

import h5py
import torch


class UnsafeFile(Exception):
    pass


def load_state_dict(path):
    # Tensors and plain containers only: a pickle that names any other class could run code while
    # it is read, so such a file is refused rather than trusted.
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Weights only load failed" not in str(error):
            raise
        raise UnsafeFile(
            "refused: reading it needs unsafe unpickling (it stores objects other than tensors, "
            "which could run code); save a plain state dict, torch.save(model.state_dict(), path)"
        ) from None
    if isinstance(obj, dict) and "model_state_dict" in obj:
        obj = obj["model_state_dict"]
    elif isinstance(obj, dict) and "state_dict" in obj:
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        raise ValueError("no model_state_dict (or flat state dict of tensors) in the file")
    return obj


def strip(key):
    changed = True
    while changed:
        changed = False
        for prefix in ("_orig_mod.", "module."):
            if key.startswith(prefix):
                key, changed = key[len(prefix):], True
    return key


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: pth_to_h5.py IN.pth OUT.h5")
    try:
        state = load_state_dict(sys.argv[1])
    except Exception as error:  # one line for the caller to relay
        lines = str(error).splitlines()
        if isinstance(error, (UnsafeFile, ValueError)) and lines:
            sys.exit(lines[0])
        # torch.load's own errors on foreign bytes say little (a KeyError of a number).
        sys.exit(f"not a PyTorch checkpoint ({type(error).__name__}: {lines[0] if lines else ''})")
    with h5py.File(sys.argv[2], "w") as out:
        for key, value in state.items():
            out[f"state_dict/{strip(key)}"] = value.detach().to(torch.float32).numpy()


if __name__ == "__main__":
    main()
