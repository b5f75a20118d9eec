from .delivery import Delivery, DeliveryAttempt, DeliveryStatus
from .execution import Execution, ExecutionStatus
from .flow import Flow
from .worker import WorkerHeartbeat

__all__ = ["Delivery", "DeliveryAttempt", "DeliveryStatus", "Execution", "ExecutionStatus", "Flow", "WorkerHeartbeat"]
