"""What reports keep of a finished execution. Interface fixed by the lead; the reports work fills it in."""


def record_finished_execution(execution) -> None:
    """Called by the engine inside the transaction that ends an execution (completed or failed)."""
