"""How the CPU server holds the model (`server_weights`, #15): the choice and its flags, and the INT8 W8A8
copy of the packaged model, served for real by vLLM."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from rag import Settings
from rag.llm import vllm_server as server
from rag.llm.prepare import PACKAGED_MODEL, quantize_w8a8


def cpu(**overrides) -> Settings:
    return Settings(server_device="cpu", **overrides)


@pytest.mark.parametrize(
    "bf16, model, expected",
    [
        (True, PACKAGED_MODEL, "bfloat16"),  # int8 is faster but phrases interview questions worse
        (True, "/models/mistral-7b", "bfloat16"),
        (False, PACKAGED_MODEL, "float32"),  # no bf16 instructions: nothing measured beats float32 there
        (False, "/models/mistral-7b", "float32"),
    ],
)
def test_auto_weights_follow_the_cpu_and_the_model(monkeypatch, bf16, model, expected):
    monkeypatch.setattr(server, "cpu_has_bf16", lambda: bf16)
    settings = cpu(llm_model=model)
    assert server.weights(settings) == expected
    cmd, _ = server.command(settings, "/path", 8123, "127.0.0.1")
    assert cmd[cmd.index("--dtype") + 1] == ("float32" if expected == "float32" else "bfloat16")


def test_int8_is_refused_for_a_model_it_cannot_be_made_for():
    with pytest.raises(server.ServerError, match="packaged model only"):
        server.weights(cpu(llm_model="/models/mistral-7b", server_weights="int8"))


def test_a_chosen_dtype_is_what_vllm_is_told(monkeypatch):
    monkeypatch.setattr(server, "cpu_has_bf16", lambda: True)
    cmd, _ = server.command(cpu(server_weights="float32"), "/path", 8123, "127.0.0.1")
    assert cmd[cmd.index("--dtype") + 1] == "float32"


def test_w8a8_copy_keeps_each_weight_within_half_a_step(tmp_path):
    source, target = tmp_path / "fp32", tmp_path / "w8a8"
    source.mkdir()
    generator = torch.Generator().manual_seed(0)
    q_proj = (
        torch.randn(64, 32, generator=generator) * torch.linspace(0.01, 3.0, 64)[:, None]
    )  # rows of very different range
    embed = torch.randn(100, 32, generator=generator)
    save_file(
        {"model.layers.0.self_attn.q_proj.weight": q_proj, "model.embed_tokens.weight": embed},
        str(source / "model.safetensors"),
    )
    (source / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"], "dtype": "float32"}))
    (source / "tokenizer.json").write_text("{}")

    quantize_w8a8(source, target)

    out = load_file(str(target / "model.safetensors"))
    weight, scale = out["model.layers.0.self_attn.q_proj.weight"], out["model.layers.0.self_attn.q_proj.weight_scale"]
    assert weight.dtype == torch.int8 and scale.shape == (64, 1)
    assert int(weight.abs().max()) == 127  # each row uses the whole int8 range
    error = (weight.float() * scale.float() - q_proj).abs()
    assert bool((error <= scale * 0.5 + 1e-6).all())  # half a step at most
    assert out["model.embed_tokens.weight"].dtype == torch.bfloat16  # the tied LM head stays floating point
    config = json.loads((target / "config.json").read_text())
    assert config["quantization_config"]["format"] == "int-quantized" and config["dtype"] == "bfloat16"
    assert (target / "tokenizer.json").exists()
