"""The API's JSON parser: phonon.lib.json_input's rules (a depth limit, no text the database cannot store)."""

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from phonon.lib.json_input import JSONInputError, read_json_input


class JSONInputParser(JSONParser):
    """DRF's JSON parser on `read_json_input`, so a hostile body is a 400 with a sentence, never a 500.

    A NUL or lone surrogate answers `{"<dotted field>": ["…"]}` like a field error; a body too
    deep or not JSON answers `{"detail": "…"}`.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return read_json_input(stream.read().decode(encoding))
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"The request body is not valid {encoding} text: {exc}.") from None
        except JSONInputError as error:
            raise ParseError(error.errors or str(error)) from None
