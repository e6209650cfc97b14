"""The ``zshbench`` command line.

Errors in what the user asked for (`UserError`) are printed as one paragraph without a traceback, with exit
code 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Sequence

from zshbench.cli import compare, info, outputs, results, runs
from zshbench.cli.common import Parser
from zshbench.errors import UserError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="zshbench",
        description="A comparative benchmark suite for zero-shot image hashing.",
        epilog=runs.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    info.add_parsers(sub)
    runs.add_parsers(sub)
    outputs.add_parsers(sub)
    results.add_parsers(sub)
    compare.add_parser(sub)
    from zshbench.evaluate import cli as eval_cli

    eval_cli.add_parser(sub)
    return p


def _print_error(exc: BaseException) -> None:
    msg = " ".join(str(exc).split())
    sys.stderr.write(
        "error: "
        + textwrap.fill(msg, width=100, subsequent_indent="  ", break_on_hyphens=False, break_long_words=False)
        + "\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        import zshbench

        print(zshbench.__version__)
        return 0
    if not args.command:
        parser.print_help()
        return 2
    handlers = {
        "list": info.cmd_list,
        "run": runs.cmd_run,
        "curve": runs.cmd_curve,
        "validate": info.cmd_validate,
        "leaderboard": results.cmd_leaderboard,
        "report": results.cmd_report,
        "sweep": runs.cmd_sweep,
        "compare": compare.cmd_compare,
        "encode": outputs.cmd_encode,
        "retrieve": outputs.cmd_retrieve,
    }
    if args.command == "protocol":
        handlers["protocol"] = {
            "show": info.cmd_protocol_show,
            "list": info.cmd_protocol_list,
            "resample": info.cmd_protocol_resample,
        }.get(args.action)
        if handlers["protocol"] is None:
            sys.stderr.write("zshbench protocol needs an action: show NAME, list, or resample NAME --n N --out DIR.\n")
            try:
                parser.parse_args(["protocol", "--help"])
            except SystemExit:
                pass
            return 2
    if args.command == "evaluate":
        from zshbench.evaluate import cli as eval_cli

        handlers["evaluate"] = eval_cli.run
    import warnings

    def _format(message, category, filename, lineno, line=None):  # one paragraph, no source line
        msg = " ".join(str(message).split())
        return (
            "warning: "
            + textwrap.fill(msg, width=100, subsequent_indent="  ", break_on_hyphens=False, break_long_words=False)
            + "\n"
        )

    old_format = warnings.formatwarning
    warnings.formatwarning = _format
    try:
        return int(handlers[args.command](args) or 0)
    except UserError as exc:
        if args.debug or os.environ.get("ZSHBENCH_DEBUG"):
            raise
        _print_error(exc)
        return 2
    except FloatingPointError as exc:  # fit_loop: the loss became NaN or infinite
        if args.debug or os.environ.get("ZSHBENCH_DEBUG"):
            raise
        _print_error(
            f"Training diverged: {exc} No record was written for this run; the records of runs finished before "
            "it are complete. A learning rate or loss weight set with --set is the usual cause: go back towards "
            "the method's defaults ('zshbench list methods NAME --verbose' shows them) and rerun; --debug shows "
            "the traceback."
        )
        return 2
    except MemoryError as exc:
        if args.debug or os.environ.get("ZSHBENCH_DEBUG"):
            raise
        _print_error(
            f"Out of memory ({str(exc) or 'MemoryError'}): an allocation failed, under this machine's free memory, a "
            "ulimit -v or a container limit that zshbench's own estimates did not foresee. No record was written "
            "for this run; those of runs finished before it are complete. Use smaller inputs (a smaller "
            "--image-size, lower-dimensional --features, fewer --bits or training items) or raise the limit, and "
            "rerun; --debug shows the traceback."
        )
        return 2
    except BrokenPipeError:  # e.g. 'zshbench leaderboard ... | head': the reader left, nothing to report
        try:
            sys.stdout.flush()
        except BrokenPipeError:  # it was stdout's pipe: quietly stop
            pass
        else:  # another pipe (a child process, a data loader): a real error
            raise
        try:  # Python flushes stdout at exit: point it at /dev/null so that flush cannot fail again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # a stdout without a file descriptor (captured)
            pass
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; records written so far are complete, rerun to resume.\n")
        return 130
    finally:
        warnings.formatwarning = old_format


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
