"""``python -m gateway.cli``: the same as ``summary-gateway``."""

from gateway.cli.main import main

raise SystemExit(main())
