"""The demo, in one app on the top floor that nothing else imports.

- `manage.py seed_demo` (`demo.management.commands.seed_demo`): the demo account and users, then
  `demo.seed_webhooks` and `demo.seed_flows` fill in its webhooks, Direct Dial numbers and flows.
- The demo API, served by this same site under /demo-api/ so `make run` works offline:
  `demo.api` (JSON/XML answers for the demo flows) and `demo.receiver` (shows what the flow-end
  webhook delivered) each expose `urlpatterns`; `demo.urls` mounts both, and `phonon.urls`
  includes it by name.
"""
