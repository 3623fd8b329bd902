"""Is it a fine-tune? The similarity verdict and ΔW's rank on small models really trained (torch).

    python bench/similarity_pairs.py [--hidden 256] [--layers 6] [--dir /tmp/mc-sim]

Trains a base MLP (AdamW, task A), then from it: a gentle and a hard full fine-tune (task B),
a LoRA of rank 8 trained on task B and merged (stored F32 and BF16), the base with its hidden
units permuted (same function), and an independent model trained like the base from another
seed. Each is written as safetensors with Llama-style names and compared with `deep_compare`
against the base; the table gives the verdict's figures and the ranks the sketch found. Not a
timing: the thresholds in `compare/deep/origin.py` were chosen on these figures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modelcards.compare.deep.origin import base_check, low_rank  # noqa: E402
from modelcards.compare.deep.run import deep_compare  # noqa: E402
from modelcards.inspect import inspect_snapshot  # noqa: E402
from modelcards.resolve import open_folder  # noqa: E402


def main() -> None:
    import torch
    from safetensors.torch import save_file

    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="mc-sim-"))
    hidden, layers = args.hidden, args.layers
    torch.set_num_threads(1)

    def task(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(4096, hidden, generator=g)
        teacher = torch.randn(hidden, 16, generator=g)
        return x, (torch.tanh(x @ teacher / hidden**0.5) @ torch.randn(16, 10, generator=g)).argmax(
            1
        )

    def network(seed: int) -> torch.nn.Module:
        torch.manual_seed(seed)
        blocks: list[torch.nn.Module] = []
        for _ in range(layers):
            blocks += [torch.nn.Linear(hidden, hidden), torch.nn.LayerNorm(hidden), torch.nn.GELU()]
        return torch.nn.Sequential(*blocks, torch.nn.Linear(hidden, 10))

    def train(
        model: torch.nn.Module, data: tuple[torch.Tensor, torch.Tensor], steps: int, lr: float
    ) -> float:
        x, y = data
        params = [p for p in model.parameters() if p.requires_grad]
        optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
        g = torch.Generator().manual_seed(0)
        for _ in range(steps):
            batch = torch.randint(0, len(x), (128,), generator=g)
            loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        with torch.no_grad():
            return float((model(x).argmax(1) == y).float().mean())

    def tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
        out = {}
        mods = list(model)
        for i in range(layers):
            linear, norm = mods[3 * i], mods[3 * i + 1]
            out[f"model.layers.{i}.mlp.up_proj.weight"] = linear.weight
            out[f"model.layers.{i}.mlp.up_proj.bias"] = linear.bias
            out[f"model.layers.{i}.post_attention_layernorm.weight"] = norm.weight
            out[f"model.layers.{i}.post_attention_layernorm.bias"] = norm.bias
        out["lm_head.weight"] = mods[-1].weight
        out["lm_head.bias"] = mods[-1].bias
        return {k: v.detach().clone().contiguous() for k, v in out.items()}

    def write(name: str, weights: dict[str, torch.Tensor], dtype: torch.dtype) -> Path:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text('{"model_type": "llama"}')
        save_file({k: v.to(dtype) for k, v in weights.items()}, str(folder / "model.safetensors"))
        return folder

    task_a, task_b = task(1), task(2)
    base = network(0)
    accuracy = {"base": train(base, task_a, 1500, 1e-3)}
    base_weights = tensors(base)
    models: dict[str, tuple[dict[str, torch.Tensor], torch.dtype]] = {}

    for label, steps, lr in (("full FT, 300 steps lr 1e-4", 300, 1e-4),
                             ("full FT, 2000 steps lr 1e-3", 2000, 1e-3)):  # fmt: skip
        tuned = network(0)
        tuned.load_state_dict(base.state_dict())
        accuracy[label] = train(tuned, task_b, steps, lr)
        models[label] = (tensors(tuned), torch.float32)

    lora = network(0)
    lora.load_state_dict(base.state_dict())
    for p in lora.parameters():
        p.requires_grad_(False)
    rank, factors = 8, []
    for module in list(lora)[0 : 3 * layers : 3]:
        a = torch.nn.Parameter(torch.randn(rank, hidden) / hidden**0.5)
        b = torch.nn.Parameter(torch.zeros(hidden, rank))
        factors.append((module, a, b))

        def hook(mod: torch.nn.Module, inp: tuple[torch.Tensor], out: torch.Tensor,
                 a: torch.Tensor = a, b: torch.Tensor = b) -> torch.Tensor:  # fmt: skip
            return out + inp[0] @ a.T @ b.T * 2.0

        module.register_forward_hook(hook)

    class Factors(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.params = torch.nn.ParameterList([p for _, a, b in factors for p in (a, b)])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return lora(x)

    accuracy["LoRA r=8 (merged)"] = train(Factors(), task_b, 1500, 2e-3)
    merged = tensors(lora)
    for i, (_, a, b) in enumerate(factors):
        name = f"model.layers.{i}.mlp.up_proj.weight"
        merged[name] = (merged[name] + 2.0 * b.detach() @ a.detach()).contiguous()
    models["LoRA r=8 merged, F32"] = (merged, torch.float32)
    models["LoRA r=8 merged, BF16"] = (merged, torch.bfloat16)

    permuted = {k: v.clone() for k, v in base_weights.items()}
    g = torch.Generator().manual_seed(5)
    before = torch.arange(hidden)
    for i in range(layers):
        after = torch.randperm(hidden, generator=g)
        prefix = f"model.layers.{i}"
        permuted[f"{prefix}.mlp.up_proj.weight"] = base_weights[f"{prefix}.mlp.up_proj.weight"][
            after
        ][:, before]
        for part in (
            "mlp.up_proj.bias",
            "post_attention_layernorm.weight",
            "post_attention_layernorm.bias",
        ):
            permuted[f"{prefix}.{part}"] = base_weights[f"{prefix}.{part}"][after]
        before = after
    permuted["lm_head.weight"] = base_weights["lm_head.weight"][:, before]
    permuted = {k: v.contiguous() for k, v in permuted.items()}
    models["base, hidden units permuted"] = (permuted, torch.float32)

    other = network(1)
    accuracy["independent (seed 1, task A)"] = train(other, task_a, 1500, 1e-3)
    models["independent (seed 1, task A)"] = (tensors(other), torch.float32)

    base_dirs = {
        torch.float32: write("base-f32", base_weights, torch.float32),
        torch.bfloat16: write("base-bf16", base_weights, torch.bfloat16),
    }
    print(f"{layers} layers of {hidden} × {hidden} + head; accuracy on its own task: "
          f"base {accuracy['base']:.3f}")  # fmt: skip
    print()
    print(
        "| pair | accuracy | relative change | verdict | median similarity | min … max | ΔW ranks | LoRA sentence |"
    )
    print("|---|---:|---:|---|---:|---|---|---|")
    for index, (label, (weights, dtype)) in enumerate(models.items()):
        folder = write(f"tuned-{index}", weights, dtype)
        base_snap, tuned_snap = open_folder(base_dirs[dtype]), open_folder(folder)
        deep = deep_compare(
            inspect_snapshot(base_snap), inspect_snapshot(tuned_snap), base_snap, tuned_snap
        )
        check = base_check(deep)
        judged = [t.similarity for t in deep.tensors if t.dims == 2 and t.similarity is not None]
        ranks = sorted({t.delta_rank for t in deep.changed if t.delta_rank is not None})
        found = low_rank(deep)
        acc = accuracy.get(label.split(" merged")[0] + (" (merged)" if "merged" in label else ""))
        print(
            f"| {label} | {'—' if acc is None else f'{acc:.3f}'} | "
            f"{100 * (deep.total.relative_change or 0):.3g}% | {check.verdict} | "
            f"{check.median_similarity:.5f} | {min(judged):.4f} … {max(judged):.4f} | "
            f"{', '.join(map(str, ranks))} | {'—' if found is None else found.rank} |"
        )


if __name__ == "__main__":
    main()
