"""Settings precedence: defaults < rag.toml < RAG_* environment < arguments."""

from pathlib import Path

from rag import Assistant, Settings

REPO = Path(__file__).resolve().parent.parent


def test_precedence(tmp_path, monkeypatch):
    config = tmp_path / "rag.toml"
    config.write_text('top_k = 7\nchunk_tokens = 150\nllm_model = "from-toml"\n')
    monkeypatch.setenv("RAG_CONFIG", str(config))
    monkeypatch.setenv("RAG_CHUNK_TOKENS", "180")
    s = Settings(llm_model="from-args")
    assert s.top_k == 7  # toml over default
    assert s.chunk_tokens == 180  # env over toml
    assert s.llm_model == "from-args"  # arguments over everything
    assert Settings().llm_model == "from-toml"
    assert Assistant(index_dir=tmp_path / "i", top_k=3).settings.top_k == 3


def test_gpu_profile_loads(monkeypatch):
    monkeypatch.setenv("RAG_CONFIG", str(REPO / "profiles" / "gpu.toml"))
    s = Settings()
    assert s.server_device == "cuda" and s.llm_model.startswith("mistralai/") and s.llm_context_window == 8192


def test_index_dir_default_is_per_notes_folder(tmp_path):
    a = Settings(notes_dir=tmp_path / "a", cache_dir=tmp_path / "cache").resolved_index_dir
    b = Settings(notes_dir=tmp_path / "b", cache_dir=tmp_path / "cache").resolved_index_dir
    assert a != b and a.parent == b.parent == tmp_path / "cache" / "indexes"


def test_overrides_on_given_settings_are_validated(tmp_path):
    base = Settings(top_k=4)
    a = Assistant(notes_dir=str(tmp_path), settings=base, top_k="6")
    assert a.notes_dir == tmp_path and isinstance(a.notes_dir, Path)
    assert a.settings.top_k == 6 and base.top_k == 4
