from .delivery import Delivery, DeliveryAttempt, DeliveryStatus
from .execution import Execution, ExecutionStatus
from .flow import Flow

__all__ = ["Delivery", "DeliveryAttempt", "DeliveryStatus", "Execution", "ExecutionStatus", "Flow"]
