"""Tests for phonon.lib.sanitizer: notes keep their formatting and lose everything active."""

from __future__ import annotations

import re

import pytest

from phonon.lib.sanitizer import (
    MAX_NOTES_CHARS,
    NOTES_TOO_LONG,
    NotesTooLong,
    check_notes,
    sanitize_notes,
    visible_text,
)

ACTIVE_CONTENT_RE = re.compile(
    r"<\s*(script|style|img|iframe|svg|math|object|embed|video|audio|form|input|button|link|meta|base)\b"
    r"|\son\w+\s*="
    r"|javascript:|vbscript:|data:"
    r"|<!--",
    re.IGNORECASE,
)


@pytest.mark.parametrize(
    ("attack", "kept_text"),
    [
        ("<p>hi</p><script>alert('xss')</script>", "hi"),
        ("<p>hi<script src=https://evil.example/x.js></script></p>", "hi"),
        ("<img src=x onerror=alert(1)>hi", "hi"),
        ('<p><img src="data:image/png;base64,AAAA">hi</p>', "hi"),
        ('<iframe src="https://evil.example/"><b>inside</b></iframe>hi', "hi"),
        ('<a href="javascript:alert(1)">hi</a>', "hi"),
        ('<a href=" JaVaScRiPt:alert(1)">hi</a>', "hi"),
        ('<a href="jav&#x09;ascript:alert(1)">hi</a>', "hi"),
        ('<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">hi</a>', "hi"),
        ('<a href="vbscript:msgbox(1)">hi</a>', "hi"),
        ("<style>body{display:none}</style><p>hi</p>", "hi"),
        ('<p style="background-image:url(javascript:alert(1));position:fixed">hi</p>', "hi"),
        ("<svg onload=alert(1)><script>alert(2)</script><text>svg text</text></svg>hi", "hi"),
        ("<math><mtext><script>alert(1)</script></mtext></math>hi", "hi"),
        ('<p onclick="alert(1)" onmouseover="alert(2)">hi</p>', "hi"),
        ('<b onpointerenter=alert(1) ONFOCUS="x()">hi</b>', "hi"),
        ('<object data="evil.swf"><embed src="evil.swf"></object>hi', "hi"),
        ('<video src="v.mp4" poster="p.png"></video><audio src="a.mp3"></audio>hi', "hi"),
        ('<form action="https://evil.example"><input name="pw"><button>go</button></form>hi', "gohi"),
        ('<link rel="stylesheet" href="https://evil.example/x.css"><meta http-equiv="refresh">hi', "hi"),
        ("<!-- secret comment -->hi<!--[if IE]><script>x</script><![endif]-->", "hi"),
        ("<<script>script>alert(1)<</script>/script>hi", "</script>hi"),
        ("<scr<script>ipt>alert(1)</scr</script>ipt>hi", "ipt>alert(1)ipt>hi"),
        ("<p>hi<script>alert(1)", "hi"),
        ('<p title="x"><b>hi</p></b><img """><script>alert(1)</script>">', 'hi">'),
        ('<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>hi', '">hi'),
        ("<template><script>alert(1)</script></template>hi", "hi"),
        ("<textarea><script>alert(1)</script></textarea>hi", "hi"),
        ('<base href="https://evil.example/">hi', "hi"),
    ],
)
def test_it_removes_active_content(attack: str, kept_text: str) -> None:
    clean = sanitize_notes(attack)
    assert not ACTIVE_CONTENT_RE.search(clean), clean
    assert "alert(1)</" not in clean
    assert visible_text(attack) == kept_text


@pytest.mark.parametrize(
    "html",
    [
        "<p>Plain paragraph</p>",
        "<p><b>bold</b> <strong>strong</strong> <i>italic</i> <em>em</em> <u>under</u></p>",
        "<p><s>struck</s> <strike>old struck</strike> x<sub>2</sub> y<sup>3</sup></p>",
        "<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>",
        "<h1>Title</h1><h3>Sub</h3><blockquote>quoted</blockquote><pre><code>code()</code></pre>",
        "<p>line<br>break</p><hr>",
        '<p><span style="color:rgb(255, 0, 0)">red</span> <span style="background-color:yellow">hi</span></p>',
        '<p style="text-align:center">centred</p>',
        "<table><tbody><tr><th>h</th><td>d</td></tr></tbody></table>",
    ],
)
def test_text_formatting_survives_unchanged(html: str) -> None:
    assert sanitize_notes(html) == html


def test_links_keep_safe_targets_and_gain_rel_noopener() -> None:
    clean = sanitize_notes(
        '<a href="https://docs.example/api" target="_blank">docs</a> <a href="http://x.example">x</a> '
        '<a href="mailto:ops@example.com">mail</a>'
    )
    assert clean == (
        '<a href="https://docs.example/api" target="_blank" rel="noopener noreferrer">docs</a> '
        '<a href="http://x.example" rel="noopener noreferrer">x</a> '
        '<a href="mailto:ops@example.com" rel="noopener noreferrer">mail</a>'
    )


def test_relative_and_other_scheme_links_lose_their_target() -> None:
    for href in ("/admin/", "//evil.example/", "ftp://x.example/", "tel:123", "file:///etc/passwd"):
        clean = sanitize_notes(f'<a href="{href}">l</a>')
        assert "href" not in clean, clean


def test_a_link_cannot_choose_its_own_rel_or_an_odd_target() -> None:
    clean = sanitize_notes('<a href="https://x.example" rel="opener" target="_top">l</a>')
    assert clean == '<a href="https://x.example" rel="noopener noreferrer">l</a>'


def test_only_harmless_style_properties_are_kept() -> None:
    clean = sanitize_notes(
        '<span style="color: red; position: fixed; top: 0; z-index: 9; font-weight: bold; '
        'background: url(https://evil.example/track.png); behavior: url(x.htc)">t</span>'
    )
    assert clean == '<span style="color:red;font-weight:bold">t</span>'


def test_classes_ids_and_data_attributes_are_dropped() -> None:
    assert sanitize_notes('<p class="x" id="y" data-x="1" dir="rtl">t</p>') == "<p>t</p>"


def test_unknown_tags_are_removed_but_their_text_is_kept() -> None:
    assert sanitize_notes("<custom-tag>kept</custom-tag> <marquee>moving</marquee>") == "kept moving"


def test_malformed_nesting_is_repaired() -> None:
    assert sanitize_notes("<p>a<b>b<i>c</p>d") == "<p>a<b>b<i>c</i></b></p><b><i>d</i></b>"


def test_sanitising_is_idempotent() -> None:
    messy = '<p onclick=x>a &amp; <b>b<script>s</script><a href="https://x.example">l</a></p><!--c-->'
    once = sanitize_notes(messy)
    assert sanitize_notes(once) == once


def test_empty_notes_are_empty() -> None:
    assert sanitize_notes("") == ""
    assert sanitize_notes(None) == ""
    assert check_notes("") == ""


# --- visible text and the limit ------------------------------------------------------------


def test_visible_text_removes_tags_and_unescapes_entities() -> None:
    assert visible_text("<p>Fish &amp; <b>chips</b> &lt;3 &quot;x&quot; &#169;</p>") == 'Fish & chips <3 "x" ©'


def test_visible_text_counts_whitespace_runs_once_and_trims_the_ends() -> None:
    assert visible_text("\n  <p>a \n\t b</p>\n\n<p>c</p>  ") == "a b c"


def test_a_non_breaking_space_is_a_visible_character() -> None:
    assert visible_text("<p>a&nbsp;&nbsp; b</p>") == "a\xa0\xa0 b"


def test_visible_text_ignores_what_sanitising_drops() -> None:
    assert visible_text("<p>hi</p><script>very long script</script><style>p{}</style><!-- note -->") == "hi"


def test_exactly_1000_visible_characters_pass_even_with_heavy_markup() -> None:
    chunk = '<p><b><i><span style="color:red">ab</span></i></b>&amp;<a href="https://x.example">c</a>d</p>'
    notes = chunk * (MAX_NOTES_CHARS // 5)  # each chunk shows "ab&cd": 5 characters
    assert len(notes) > 10 * MAX_NOTES_CHARS
    assert len(visible_text(notes)) == MAX_NOTES_CHARS
    assert check_notes(notes) == sanitize_notes(notes)


def test_an_entity_counts_as_one_character() -> None:
    notes = "&amp;" * MAX_NOTES_CHARS
    assert check_notes(notes) == notes
    with pytest.raises(NotesTooLong):
        check_notes(notes + "&lt;")


def test_1001_visible_characters_fail_with_the_spec_message() -> None:
    notes = "<p>" + "x" * (MAX_NOTES_CHARS + 1) + "</p>"
    with pytest.raises(NotesTooLong) as raised:
        check_notes(notes)
    assert str(raised.value) == NOTES_TOO_LONG == "Max 1000 characters are allowed"
    assert isinstance(raised.value, ValueError)


def test_script_text_does_not_count_towards_the_limit() -> None:
    notes = "<p>short</p><script>" + "x" * 5000 + "</script>"
    assert check_notes(notes) == "<p>short</p>"
