"""Backpropagation from scratch: a scalar engine, an MLP, and gradient checks.

:mod:`~aelab.backprop.engine` differentiates scalar expressions node by node;
:mod:`~aelab.backprop.mlp` trains a small multilayer perceptron with
hand-written, vectorised backpropagation; :mod:`~aelab.backprop.gradcheck`
compares any gradient with central finite differences.
"""

from aelab.backprop.engine import Value, topological_order
from aelab.backprop.gradcheck import GradCheckResult, gradcheck, numerical_gradient

__all__ = [
    "GradCheckResult",
    "Value",
    "gradcheck",
    "numerical_gradient",
    "topological_order",
]
