"""The demo API, served by this same site under /demo-api/ so `make run` works offline.

`phonon.demo.api` (JSON/XML answers for the demo flows) and `phonon.demo.receiver` (shows
what the flow-end webhook delivered) each expose `urlpatterns`; `phonon.demo.urls` mounts both.
"""
