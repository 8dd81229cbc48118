"""``python -m explorer index | search | export-index``: the retrieval subcommands of :mod:`explorer.cli`."""
from __future__ import annotations

import json
import sys


def add_parsers(commands) -> None:
    """Register the subcommands on ``commands`` (argparse subparsers); each sets its handler."""
    from explorer.retrieval.engines import ENGINES, EXACT_UP_TO
    index = commands.add_parser("index", help="index a collection of images by their codes under a model")
    index.add_argument("model_dir", help="a checkpoint folder (its weights' sha256 is recorded)")
    index.add_argument("source", help="a folder or .zip of images (class subfolders are labels), an .npz, an "
                                      "*-images-idx3-ubyte file or a dataset name")
    index.add_argument("--out", required=True, help="the index folder to write (replaced atomically)")
    index.add_argument("--engine", default="auto", choices=ENGINES,
                       help=f"auto: exact search up to {EXACT_UP_TO:,} codes, FAISS IVF above")
    index.add_argument("--metric", default="euclidean", choices=("euclidean", "cosine"))
    index.add_argument("--milvus-uri", help="for --engine milvus: a path ending in .db (Milvus Lite, embedded) or "
                                            "http://host:19530 (a cluster; token in MILVUS_TOKEN)")
    index.add_argument("--append", action="store_true", help="add the source's new images to the index in --out")
    index.add_argument("--no-thumbnails", action="store_true", help="store no thumbnails")
    index.add_argument("--batch", type=int, default=512, help="images per batch (and per resumable chunk)")
    index.set_defaults(handler=cmd_index)
    search = commands.add_parser("search", help="the nearest indexed images to each query image")
    search.add_argument("index_dir")
    search.add_argument("images", nargs="+")
    search.add_argument("-k", type=int, default=10)
    search.add_argument("--model", help="the model folder, if not where the manifest says")
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=cmd_search)
    export = commands.add_parser("export-index", help="an index's codes as .npz and Embedding Projector TSV files")
    export.add_argument("index_dir")
    export.add_argument("--out", required=True, help="a folder for codes.npz, vectors.tsv, metadata.tsv, sprite.png")
    export.set_defaults(handler=cmd_export)


def cmd_index(args) -> int:
    from explorer.errors import ConfigError
    from explorer.retrieval.build import build
    if not 1 <= args.batch <= 65536:
        raise ConfigError(f"--batch must be between 1 and 65536, got {args.batch}")
    manifest = build(args.model_dir, args.source, args.out, args.engine, args.metric, args.append,
                     not args.no_thumbnails, args.milvus_uri, args.batch)
    counts, engine = manifest["counts"], manifest["engine"]
    skipped = ", ".join(f"{n} {reason}" for reason, n in counts["skipped"].items()) or "none"
    recall = f", recall@10 {engine['recall_at_10']}" if "recall_at_10" in engine else ""
    print(f"indexed {counts['indexed']:,} images into {args.out} ({counts['added']:,} added; skipped: {skipped}); "
          f"engine {engine['kind']}{recall}, built in {engine['build_seconds']} s")
    return 0


def cmd_search(args) -> int:
    from explorer.errors import ConfigError
    from explorer.retrieval.lookup import neighbours, open_index, query_image
    if not 1 <= args.k <= 1000:
        raise ConfigError(f"-k must be between 1 and 1000, got {args.k}")
    opened = open_index(args.index_dir, args.model)
    queries = [(path, query_image(path, opened.input_shape)) for path in args.images]  # all refused before any output
    results = [{"query": path, "neighbours": neighbours(opened, image, args.k)} for path, image in queries]
    getattr(opened.engine, "close", lambda: None)()
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    for result in results:
        print(result["query"])
        for hit in result["neighbours"]:
            label = f"  [{hit['label']}]" if hit["label"] is not None else ""
            print(f"  {hit['rank']:>3}  {hit['distance']:10.4f}  {hit['source']}{label}")
    return 0


def cmd_export(args) -> int:
    from explorer.retrieval.export import export
    written = export(args.index_dir, args.out)
    print(f"wrote {', '.join(str(path) for path in written)}", file=sys.stderr)
    return 0
