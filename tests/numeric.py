"""Small numeric helpers for the tests: central differences and relative error."""

import numpy as np
import torch


def numeric_gradient(f, x, dout, h=1e-6):
    """Central-difference gradient of sum(f(x) * dout) with respect to the float64 array x.

    x is perturbed in place one entry at a time and restored before returning.
    """
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        plus = np.array(f(x), copy=True)
        x[idx] = old - h
        minus = np.array(f(x), copy=True)
        x[idx] = old
        grad[idx] = np.sum((plus - minus) * dout) / (2 * h)
    return grad


def rel_error(a, b):
    """Largest elementwise relative error, max |a - b| / max(1e-8, |a| + |b|) (CS231n's)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)), initial=0.0))


def torch_grads(fn, arrays, dout):
    """Output of fn on float64 torch copies of arrays, and the gradients of sum(out * dout)."""
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out.backward(torch.tensor(dout, dtype=torch.float64))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]
