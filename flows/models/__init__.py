from .delivery import Delivery, DeliveryAttempt, DeliveryStatus
from .execution import Execution, ExecutionStatus
from .flow import Flow
from .widget_test import WidgetTestUse
from .worker import WorkerHeartbeat

__all__ = [
    "Delivery",
    "DeliveryAttempt",
    "DeliveryStatus",
    "Execution",
    "ExecutionStatus",
    "Flow",
    "WidgetTestUse",
    "WorkerHeartbeat",
]
