from .delivery import Delivery, DeliveryAttempt
from .execution import Execution, ExecutionStatus
from .flow import Flow

__all__ = ["Delivery", "DeliveryAttempt", "Execution", "ExecutionStatus", "Flow"]
