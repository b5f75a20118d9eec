import json
import time

from django.core.management.base import BaseCommand, CommandError

from flows.models import Execution, Flow
from flows.serializers import ExecutionCreateSerializer, ExecutionDetailSerializer


def key_value(text: str) -> tuple[str, str]:
    key, separator, value = text.partition("=")
    if not separator:
        raise ValueError(f"write it as key=value, not {text!r}")
    return key, value


class Command(BaseCommand):
    help = "Queue an execution of a flow for a simulated call, as POST /api/v1/executions/ does."

    def add_arguments(self, parser):
        parser.add_argument("--flow", type=int, required=True, metavar="ID")
        parser.add_argument("--cli", default="+15550100", help="The caller's number.")
        parser.add_argument("--did", default="+15550199", help="The number dialled.")
        parser.add_argument("--callee", help="The number the call was put through to.")
        parser.add_argument(
            "--user-key", action="append", default=[], metavar="KEY=VALUE", help="Sets $user.key.KEY; repeatable."
        )
        parser.add_argument(
            "--wait", action="store_true", help="Wait for a worker to finish it, then print the outcome as JSON."
        )
        parser.add_argument("--timeout", type=float, default=120, help="Seconds --wait waits (default 120).")

    def handle(
        self, *args, flow: int, cli: str, did: str, callee: str | None, user_key, wait: bool, timeout: float, **options
    ):
        target = Flow.objects.filter(pk=flow).select_related("account").first()
        if target is None:
            raise CommandError(f"No flow with id {flow}.")
        try:
            user_keys = dict(key_value(item) for item in user_key)
        except ValueError as error:
            raise CommandError(f"--user-key: {error}.")
        call = {"cli": cli, "did": did, "incoming": True, **({"callee": callee} if callee else {})}
        serializer = ExecutionCreateSerializer(
            data={"flow": target.pk, "call": call, "user_keys": user_keys}, context={"account": target.account}
        )
        if not serializer.is_valid():
            raise CommandError(json.dumps(serializer.errors))
        execution = serializer.save()
        self.stdout.write(f"Queued execution {execution.pk} of flow {target.pk} ({target.name}).")
        if not wait:
            return
        deadline = time.monotonic() + timeout
        while not execution.is_finished:
            if time.monotonic() > deadline:
                raise CommandError(
                    f"Execution {execution.pk} is still {execution.status}; is `manage.py runworker` running?"
                )
            time.sleep(0.1)
            execution = Execution.objects.get(pk=execution.pk)
        self.stdout.write(json.dumps(ExecutionDetailSerializer(execution).data, indent=2, default=str))
        if execution.status != "completed":
            raise CommandError(f"Execution {execution.pk} failed: {execution.failure_reason}")
