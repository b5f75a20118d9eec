"""The one HTML cleaner: widget notes keep text formatting and lose everything active.

Notes come from a Summernote editor, but anything can be posted to the API, so the server
decides what survives: the formatting the editor's text toolbar produces (paragraphs, headings,
bold/italic/underline/strikethrough, sub/superscript, lists, quotes, code, links, tables,
colours and alignment as inline styles limited to harmless properties). Images, media,
frames, forms, scripts and styles are dropped, with the contents of scripts and styles; event
attributes and comments go; links keep only http, https and mailto targets and get
rel="noopener noreferrer".

The length limit counts visible text, not markup: see visible_text().
"""

from __future__ import annotations

import html
import re

import nh3

MAX_NOTES_CHARS = 1000
NOTES_TOO_LONG = "Max 1000 characters are allowed"

_ALLOWED_TAGS = frozenset(
    {
        "p", "br", "div", "span", "font", "hr",
        "b", "strong", "i", "em", "u", "s", "strike", "del", "ins", "sub", "sup", "small", "mark",
        "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code",
        "ul", "ol", "li",
        "a",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
# Elements whose contents must vanish with them: code, stylesheets, embedded documents, and
# raw-text elements whose "text" is really markup.
_DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet",
        "svg", "math", "noscript", "template", "textarea", "select", "title",
        "video", "audio", "canvas", "xmp", "noembed", "noframes",
    }
)  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "*": {"style"},
    "a": {"href", "title"},
    "font": {"color", "face", "size"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
# Only presentation a reader sees: colour, emphasis, alignment, size. No positioning, no
# backgrounds that take URLs, nothing that can cover the page.
_ALLOWED_STYLE_PROPERTIES = frozenset(
    {
        "color", "background-color", "text-align", "text-decoration", "text-decoration-line",
        "font-weight", "font-style", "font-size", "font-family", "line-height",
    }
)  # fmt: skip
_ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_WHITESPACE_RUN_RE = re.compile(r"[ \t\n\r\f]+")


class NotesTooLong(ValueError):
    """The notes hold more than MAX_NOTES_CHARS characters of visible text."""

    def __init__(self, message: str = NOTES_TOO_LONG) -> None:
        super().__init__(message)


def sanitize_notes(notes: str | None) -> str:
    """Notes HTML reduced to text formatting; safe to render as-is. Idempotent."""
    if not notes:
        return ""
    return nh3.clean(
        notes,
        tags=set(_ALLOWED_TAGS),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in _ALLOWED_ATTRIBUTES.items()},
        tag_attribute_values={"a": {"target": {"_blank"}}},
        filter_style_properties=set(_ALLOWED_STYLE_PROPERTIES),
        url_schemes=set(_ALLOWED_URL_SCHEMES),
        url_relative="deny",
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def visible_text(notes: str | None) -> str:
    """The text a reader sees once the notes are sanitised; what the length limit counts.

    Tags are removed and entities decoded (`&amp;` is one character). Runs of spaces, tabs and
    line breaks count as one space and the ends are trimmed, as a browser shows them;
    a non-breaking space is a character of its own. The editor's live counter uses the
    same rule: `el.textContent.replace(/[ \\t\\n\\r\\f]+/g, " ").trim().length`.
    """
    return _visible_text_of_clean(sanitize_notes(notes))


def _visible_text_of_clean(clean_html: str) -> str:
    text = html.unescape(nh3.clean(clean_html, tags=set(), strip_comments=True))
    return _WHITESPACE_RUN_RE.sub(" ", text).strip(" ")


def check_notes(notes: str | None) -> str:
    """The sanitised notes, or NotesTooLong when their visible text exceeds the limit."""
    clean_html = sanitize_notes(notes)
    if len(_visible_text_of_clean(clean_html)) > MAX_NOTES_CHARS:
        raise NotesTooLong()
    return clean_html
