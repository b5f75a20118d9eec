from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        """Record every execution the engine ends (flows sends the signal, it does not import reports)."""
        from flows.models import Execution
        from flows.signals import execution_finished

        from .recording import on_execution_finished

        execution_finished.connect(on_execution_finished, sender=Execution, dispatch_uid="reports.recording")
