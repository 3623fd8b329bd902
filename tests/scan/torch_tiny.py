"""A tiny torch module for the scanner corpus; imported only where torch is installed.

It lives at module level so that `torch.save` of the whole module pickles its class by name
and `torch.jit.script` finds its source.
"""

import torch
from torch import nn


class TinyNet(nn.Module):
    """Lists of every TorchScript list type, so that each `build_*list` lands in the pickle."""

    ints: list[int]
    floats: list[float]
    flags: list[bool]
    tensors: list[torch.Tensor]

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.ints = [1, 2, 3]
        self.floats = [0.5, 1.5]
        self.flags = [True, False]
        self.tensors = [torch.ones(2), torch.zeros(1)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = float(len(self.ints)) + self.floats[0] + float(self.flags[0])
        return self.fc(x) * scale + self.tensors[0].sum()


def tiny_net() -> TinyNet:
    torch.manual_seed(0)
    return TinyNet()
