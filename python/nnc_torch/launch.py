"""How `nnc train --engine pytorch` starts a generated module: `python3 nnc_torch/launch.py MODULE.py ARGS…`.

It runs MODULE.py as `python3 MODULE.py ARGS…` would, with one difference: a Ctrl-C that comes
while Python is still importing torch and the module (a few seconds, before the run starts)
ends the process quietly with exit code 130 — Python would print the import's stack trace.
From the moment the run starts (`nnc_torch.main`), Ctrl-C is Python's KeyboardInterrupt again,
which the run answers as always: "error: interrupted", exit 130.

It imports nothing of torch or nnc_torch itself, so that the handler is in place first.
"""
import os
import runpy
import signal
import sys


def _quit_before_the_run(signum, frame):
    # Nothing is written before the run starts: leave at once, without a stack trace.
    os._exit(130)


_quit_before_the_run.nnc_startup = True


def launch(argv):
    if len(argv) < 1:
        sys.stderr.write("usage: python3 nnc_torch/launch.py MODULE.py [ARGS…]\n")
        return 2
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _quit_before_the_run)
    module = os.path.abspath(argv[0])
    # As `python3 MODULE.py`: the module's folder first on the path, its arguments in sys.argv.
    sys.argv = [module] + list(argv[1:])
    sys.path[0] = os.path.dirname(module)
    runpy.run_path(module, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(launch(sys.argv[1:]))
