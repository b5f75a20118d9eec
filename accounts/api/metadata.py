"""What `OPTIONS` answers on the API."""

from rest_framework.metadata import SimpleMetadata


class OptionsMetadata(SimpleMetadata):
    """The view's name, description and media types; the fields are in /api/schema/.

    DRF's default also describes the serializer of each write action, which needs a serializer
    every view does not have (a 500 on an action-only viewset) and repeats the schema.
    """

    def determine_actions(self, request, view) -> dict:
        return {}
