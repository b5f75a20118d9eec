"""Flow end webhook deliveries (SPEC §8). Interface fixed by the lead; the flow-end-webhook work fills it in."""


def enqueue_flow_end_delivery(execution) -> None:
    """Called by the engine inside the transaction that ends an execution (completed or failed)."""


def send_due_delivery(worker_id: str) -> bool:
    """Claim one due delivery attempt and send it; False when nothing is due. Called by runworker."""
    return False
