"""``distillscope <command> ...``: the command-line entry point.

Commands live in their own modules and are imported only when run, so
``distillscope --help`` stays fast. Each entry of ``COMMANDS`` names the
module and a one-line help; the module defines ``configure_<cmd>(parser)``
and ``run_<cmd>(args) -> int`` (``-`` in a command name becomes ``_``).
Exit codes: 0 success, 1 the work failed or found a problem it reports,
2 usage error (a bad argument, file, name or value, or a missing optional extra,
reported in one line that names the fix), 130 interrupted (Ctrl-C). Anything else that escapes a
command is a bug in distillscope: exit 1 with a one-line message; rerun with
``--debug`` (anywhere on the command line, or ``DISTILLSCOPE_DEBUG=1``) for
the traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
# file errors the user can fix by naming another path
_PATH_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError)

# command -> (module, help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("distillscope.cli.demo", "run the self-contained demo (simulated models, no network)"),
    "capabilities": ("distillscope.cli", "print the SIMD path, CPU features and engines in use"),
    "score": (
        "distillscope.cli.analysis",
        "per-granularity similarity matrices of every model pair (stores or imports)",
    ),
    "attribute": ("distillscope.cli.analysis", "rank candidate teachers for each student by calibrated degree"),
    "report": ("distillscope.cli.analysis", "write the HTML/PNG/JSON report folder of a population"),
    "gather": ("distillscope.cli.gather", "ask models the prompts of a TOML config (async, rate-limited, resumable)"),
    "import": (
        "distillscope.cli.importer",
        "import public model outputs (AlpacaEval, Arena-Hard, MT-Bench, JSONL/CSV/Parquet)",
    ),
    "serve-sim": (
        "distillscope.cli.serve_sim",
        "serve a simulated OpenAI-compatible chat API on 127.0.0.1 (fault injection)",
    ),
    "identity": (
        "distillscope.cli.identity",
        "identity consistency: write probe prompts, classify responses, loose/strict/hard rates",
    ),
    "judge": (
        "distillscope.cli.judge",
        "LLM-judge similarity of model pairs (through the gatherer, cached) and its agreement with judge-free scores",
    ),
    "model": ("distillscope.cli.model", "download, list or build encoder models (ONNX, offline after download)"),
    "score-pairs": (
        "distillscope.cli.score_pairs",
        "score a JSONL/Parquet file of pairs into Parquet (streaming, resumable, Dask)",
    ),
    "bench": ("distillscope.cli.bench", "benchmark every kernel against its peers on generated data (table + plot)"),
}


def configure_capabilities(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("json", "text"), default="text")


def run_capabilities(args: argparse.Namespace) -> int:
    import json

    from ..kernels import capabilities

    caps = capabilities()
    from ..embed.precision import cpu_int8_dot

    dot = cpu_int8_dot()  # CPU flags only: no model is loaded here
    caps["int8_dot_product"] = dot
    caps["encoder_default_precision"] = (
        "int8 (if the int8 graph exists and the accuracy guard holds)" if dot else "fp32"
    )
    if args.format == "json":
        print(json.dumps(caps, indent=2))
    else:
        for k, v in caps.items():
            print(f"{k}: {v}")
    return 0


def _top_parser() -> argparse.ArgumentParser:
    from .._version import __version__

    p = argparse.ArgumentParser(
        prog="distillscope",
        description="Measure how much LLMs were distilled from one another.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n" + "\n".join(f"  {n:<14} {h}" for n, (_, h) in COMMANDS.items()),
    )
    p.add_argument("--version", action="version", version=f"distillscope {__version__}")
    p.add_argument(
        "--debug", action="store_true", help="print the traceback of an unexpected error (also after the command)"
    )
    p.add_argument("command", choices=sorted(COMMANDS), metavar="command", help="see the list below")
    return p


def _raised_by_distillscope(exc: BaseException) -> bool:
    """Whether the innermost frame of ``exc`` is in this package: our own
    argument checks raise ValueError/TypeError with the fix in the message,
    while the same classes raised deep inside a library are bugs to report."""
    tb = exc.__traceback__
    if tb is None:
        return False
    last = traceback.extract_tb(tb)[-1]
    try:
        return Path(last.filename).resolve().is_relative_to(_PACKAGE_DIR)
    except (OSError, ValueError):
        return False


def is_usage_error(exc: BaseException) -> bool:
    """Exit code 2 errors: a bad path, a ValueError/TypeError raised by
    distillscope's own input checks, or distillscope saying which optional
    extra to install (an ImportError whose message says ``pip install``)."""
    if isinstance(exc, _PATH_ERRORS):
        return True
    if isinstance(exc, ImportError) and "pip install" in str(exc):
        return _raised_by_distillscope(exc)
    return isinstance(exc, (ValueError, TypeError)) and _raised_by_distillscope(exc)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


_PERMISSION = "check the permissions of that path, or choose another path"
# what to do about a file error reported in the OS's own words ("[Errno 13]
# Permission denied: 'x'"): distillscope's own path errors name their fix,
# these name only the path
_ERRNO_FIXES = {
    errno.EACCES: _PERMISSION,
    errno.EPERM: _PERMISSION,
    errno.EISDIR: "give a file path, not a folder",
    errno.ENOTDIR: "a part of that path is a file, not a folder: fix the path",
    errno.ENOENT: "check the path (a folder in it may be missing)",
    errno.EEXIST: "remove it or choose another path",
}


def _os_fix(exc: BaseException, args: argparse.Namespace) -> str:
    """``"; <fix>"`` for an OSError that carries the OS's errno and words, else ``""``."""
    if not isinstance(exc, OSError) or exc.strerror is None or exc.errno not in _ERRNO_FIXES:
        return ""
    if exc.errno == errno.EEXIST and exc.filename is not None and Path(exc.filename).is_file():
        # making the folders of an output path: --overwrite would not help
        return "; a file is where a folder of that path goes: rename or remove it, or choose another path"
    if exc.errno == errno.EEXIST and "overwrite" in vars(args):  # the command (or subcommand) has --overwrite
        return "; remove it, choose another path or pass --overwrite"
    return f"; {_ERRNO_FIXES[exc.errno]}"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("DISTILLSCOPE_DEBUG", "") not in ("", "0")
    argv = [a for a in argv if a != "--debug"]
    top = _top_parser()
    if not argv:
        top.print_help(sys.stderr)
        print("distillscope: error: give a command (see the list above)", file=sys.stderr)
        return 2  # no command is a usage error
    if argv[0].startswith("-"):
        top.parse_args(argv)  # --help / --version exit here; anything else is a usage error
        return 2
    cmd, rest = argv[0], argv[1:]
    if cmd not in COMMANDS:
        top.parse_args([cmd])  # prints the usage error and exits 2
        return 2
    module_name, help_text = COMMANDS[cmd]
    module = importlib.import_module(module_name)
    attr = cmd.replace("-", "_")
    parser = argparse.ArgumentParser(
        prog=f"distillscope {cmd}",
        description=help_text,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    getattr(module, f"configure_{attr}")(parser)
    args = parser.parse_args(rest)
    try:
        return int(getattr(module, f"run_{attr}")(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        if is_usage_error(exc):
            print(f"distillscope {cmd}: error: {_one_line(exc)}{_os_fix(exc, args)}", file=sys.stderr)
            return 2
        print(
            f"distillscope {cmd}: internal error: {type(exc).__name__}: {_one_line(exc)} "
            "(a bug in distillscope; rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
