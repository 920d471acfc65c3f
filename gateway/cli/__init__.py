"""The ``summary-gateway`` command."""
