from .delivery import Delivery, DeliveryAttempt, DeliveryStatus
from .execution import Execution, ExecutionStatus
from .flow import Flow
from .idempotency import IdempotencyKey

__all__ = ["Delivery", "DeliveryAttempt", "DeliveryStatus", "Execution", "ExecutionStatus", "Flow", "IdempotencyKey"]
