"""Shared fixtures: the repository, the wsdiff executable built beside the package, the shipped
priors (loaded once per session)."""

import os
import pathlib
import subprocess

import pytest
import torch

import wsdiff

ROOT = pathlib.Path(__file__).resolve().parents[2]


def wsdiff_binary():
    return os.environ.get("WSDIFF", str(ROOT / "build" / "cli" / "wsdiff"))


def run_cli(*args, check=True):
    """`wsdiff ARGS` from the repository root; returns the finished process."""
    result = subprocess.run([wsdiff_binary(), *map(str, args)], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if check and result.returncode != 0:
        raise AssertionError(f"wsdiff {' '.join(map(str, args))} failed:\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def ws_prior():
    return wsdiff.load_prior(ROOT / "models" / "fashion_mnist_ws.h5")


@pytest.fixture(scope="session")
def conventional_prior():
    return wsdiff.load_prior(ROOT / "models" / "fashion_mnist_conventional.h5")


@pytest.fixture(autouse=True)
def in_repository(monkeypatch):
    # Paths in the tests (experiments/, models/) are the repository's, as a user's would be
    # when working from its root; one torch thread, as the C++ tests use beside each other.
    monkeypatch.chdir(ROOT)
    torch.set_num_threads(1)
