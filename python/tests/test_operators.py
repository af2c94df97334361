"""Operators from Python: the built-in registry seen through the bindings, and operators written
in Python checked at the boundary."""

import pytest
import torch

import wsdiff


def _registry(from_file=False):
    return [(name, shapes[0]) for name, _, shapes, file in wsdiff.operator_registry()
            if file == from_file]


@pytest.mark.parametrize("name,shape", _registry())
def test_every_registered_operator_has_its_exact_adjoint(name, shape):
    op = wsdiff._wsdiff.make_registry_operator(name, shape)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn([2] + list(op.input_shape), generator=gen, dtype=torch.float64)
    y = torch.randn([2] + list(op.output_shape), generator=gen, dtype=torch.float64)
    left = (op.forward(x) * y).sum()
    right = (x * op.adjoint(y)).sum()
    assert abs(float(left - right)) <= 1e-9 * max(1.0, abs(float(left)))


@pytest.mark.parametrize("name,shape", _registry())
def test_a_transfer_function_is_what_the_operator_does_per_frequency(name, shape):
    op = wsdiff._wsdiff.make_registry_operator(name, shape)
    transfer = op.transfer_function()
    if transfer is None:
        assert not op.is_fourier_diagonal
        return
    x = torch.randn([1] + list(op.input_shape), generator=torch.Generator().manual_seed(4),
                    dtype=torch.float64)
    fx = torch.fft.fft2(x, norm="ortho")[0]  # [C, H, W]
    if transfer.shape[1] == 1 and fx.shape[0] > 1:  # channel-wise: the same filter everywhere
        expected = transfer[0] * fx
    else:
        expected = torch.einsum("oihw,ihw->ohw", transfer.to(fx.dtype), fx)
    got = torch.fft.fft2(op.forward(x), norm="ortho")[0]
    assert torch.allclose(got, expected, atol=1e-9)


def test_make_operator_from_task_settings():
    op = wsdiff.make_operator({"operator": "downsample", "downsample_factor": 2}, (1, 32, 32))
    assert op.kind == "downsample"
    assert tuple(op.output_shape) == (1, 16, 16)
    with pytest.raises(ValueError, match="downsample_factor 3 does not divide"):
        wsdiff.make_operator({"operator": "downsample", "downsample_factor": 3}, (1, 32, 32))


class Mask:
    """Inpainting written in Python: keep the left half of every image."""

    def __init__(self, shape):
        self.mask = torch.zeros(shape, dtype=torch.float64)
        self.mask[..., : shape[-1] // 2] = 1

    def forward(self, x):
        return x * self.mask.to(x.dtype)

    def adjoint(self, y):
        return y * self.mask.to(y.dtype)


def test_a_python_operator_is_called_through_the_library():
    op = wsdiff.python_operator(Mask((1, 8, 8)), (1, 8, 8))
    assert op.kind == "Mask" and not op.is_fourier_diagonal
    x = torch.ones(2, 1, 8, 8, dtype=torch.float64)
    assert float(op.forward(x).sum()) == 2 * 32
    # ||A||^2 of a mask is 1: the library's power iteration runs on the Python operator.
    assert abs(op.norm_squared() - 1.0) < 0.02


def test_a_python_operator_with_the_wrong_output_shape_is_refused():
    class Wrong(Mask):
        def adjoint(self, y):
            return y[..., :4]

    op = wsdiff.python_operator(Wrong((1, 8, 8)), (1, 8, 8), output_shape=(1, 8, 8))
    with pytest.raises(ValueError, match=r"adjoint\(\) returned shape \[1, 1, 8, 4\], expected "
                                         r"\[1, 1, 8, 8\]"):
        op.adjoint(torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="needs forward"):
        wsdiff.python_operator(object(), (1, 8, 8), output_shape=(1, 8, 8))


def test_a_python_exception_in_an_operator_reaches_the_caller():
    class Broken(Mask):
        def forward(self, x):
            raise KeyError("lost kernel")

    op = wsdiff.python_operator(Broken((1, 8, 8)), (1, 8, 8), output_shape=(1, 8, 8))
    with pytest.raises(KeyError, match="lost kernel"):
        op.forward(torch.zeros(1, 1, 8, 8))
