from .delivery import Delivery, DeliveryAttempt, DeliveryStatus
from .execution import Execution, ExecutionStatus
from .flow import Flow
from .idempotency import IdempotencyKey
from .response_cache import CachedResponse
from .revision import FlowRevision, FlowTestCase
from .widget_test import WidgetTestUse
from .worker import WorkerHeartbeat

__all__ = [
    "CachedResponse",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryStatus",
    "Execution",
    "ExecutionStatus",
    "Flow",
    "FlowRevision",
    "FlowTestCase",
    "IdempotencyKey",
    "WidgetTestUse",
    "WorkerHeartbeat",
]
