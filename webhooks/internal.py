"""Internal webhooks: the catalogue of platform functions. The webhooks work fills it in."""


def call_internal_function(account, name: str, method: str, parameters: dict) -> tuple[bool, str]:
    """Run an internal function for an account; (succeeded, text for $flow.key.<name>)."""
    return False, f"Unknown internal function {name!r}."
