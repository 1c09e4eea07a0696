"""The ``kafka-iam-oauth`` console script ``pip install`` puts on PATH: the
same command as the Rust binary (``cargo install --path cli``), run through
the native module, so the wheel carries no second executable."""

import sys

from ._native import _cli_main


def main() -> None:
    """Runs ``kafka-iam-oauth`` with ``sys.argv`` and exits with its status."""
    # Python has written nothing yet; the command writes to fds 1 and 2.
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(_cli_main(["kafka-iam-oauth", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
