"""``python -m simulacra.cli``: the same as the ``simulacra`` command."""

from simulacra.cli import main

if __name__ == "__main__":
    main()
