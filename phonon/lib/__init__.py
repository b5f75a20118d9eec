"""Django-free helpers: URL policy, outbound HTTP, templating, extraction, sanitising."""
