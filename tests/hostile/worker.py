"""The child side of :mod:`tests.hostile.conftest`: runs hostile cases one at a time, each under the
address-space limit set here, and answers with how it ended and the peak RSS it reached.

A request is one JSON line ``{"call": "module:function", "args": [...]}``; the answer is one JSON line
with ``error`` and ``message`` (an ExplorerError), ``exit`` (SystemExit), ``crash`` (any other
exception, with its traceback), ``result``, ``stdout``, ``stderr`` and ``peak_mb``.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import re
import resource
import sys
import traceback

ADDRESS_SPACE = 2 * 2**30  # a regression that allocates what a file declares fails here, not the machine


def peak_mb() -> float:
    status = open("/proc/self/status").read()
    return int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024


def run(request: dict) -> dict:
    from explorer.errors import ExplorerError
    module, name = request["call"].split(":")
    function = getattr(importlib.import_module(module), name)
    out, err, answer = io.StringIO(), io.StringIO(), {}
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # the peak RSS starts again from the current RSS
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            answer["result"] = function(*request["args"])
    except ExplorerError as error:
        answer.update(error=type(error).__name__, message=str(error))
    except SystemExit as exit_:
        answer["exit"] = exit_.code
    except BaseException:  # reported; the test fails on it
        answer["crash"] = traceback.format_exc()
    return {**answer, "stdout": out.getvalue(), "stderr": err.getvalue(), "peak_mb": peak_mb()}


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever writes to fd 1 from C cannot garble the answers
    import torch
    torch.set_num_threads(1)
    import explorer.checkpoint, explorer.cli, explorer.data, explorer.query  # noqa: F401 - imported before the first peak is taken
    for line in sys.stdin:
        print(json.dumps(run(json.loads(line)), default=lambda value: repr(value)[:300]), file=answers, flush=True)


if __name__ == "__main__":
    main()
