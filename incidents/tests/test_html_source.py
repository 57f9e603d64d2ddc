"""incidents.html_source: the role each piece of quoted HTML source plays."""
from incidents.html_source import IMAGE, LINK, NAMESPACE, TEXT, looks_like_html, pieces

SEED_QUOTE_7_HEAD = '''<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.0 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">
<HTML xmlns="http://www.w3.org/TR/REC-html40" xmlns:o =
"urn:schemas-microsoft-com:office:office"><HEAD><TITLE>楽天安全センター</TITLE>
<META name=ProgId content=Word.Document>
<?xml:namespace prefix = o ns = "urn:schemas-microsoft-com:office:office" />
<BODY><![if !supportLists]><![endif]>
<A style="COLOR: rgb(126,162,21)"
href="https://www.rakuten-card.co.jp/?scid=mi_rkc_oo_htmlml_logo10001&amp;x=1"
target=_blank><IMG border=0 alt=楽天カード株式会社
src="https://img.card.jp.rakuten-static.com/corp/pc/common/mail/rc-logo_Card_175x32@2x.png"
width=175 height=32></A>
<TD background=//cdn.example.net/bg.gif style="background: url('https://cdn.example.net/x.png')">
お問い合わせ: https://support.example.org/ &amp; more
<!-- https://comment.example.com/ -->
<script>location='https://script.example.com/'</script>
<style>body { background: url(https://style.example.com/a.png) }</style>
<P class=MsoNormal style="WORD-BREAK: break-all"><SPAN lang=EN-US'''


def by_role(source):
    out = {}
    for piece in pieces(source):
        out.setdefault(piece.role, []).append(piece.text)
    return out


def test_each_piece_has_its_role():
    roles = by_role(SEED_QUOTE_7_HEAD)
    assert "http://www.w3.org/TR/REC-html40" in roles[NAMESPACE]
    assert "urn:schemas-microsoft-com:office:office" in roles[NAMESPACE]
    assert any("http://www.w3.org/TR/html4/loose.dtd" in text for text in roles[NAMESPACE])  # the DOCTYPE
    # Entities are decoded: the value is the URL a browser would follow.
    assert "https://www.rakuten-card.co.jp/?scid=mi_rkc_oo_htmlml_logo10001&x=1" in roles[LINK]
    assert ("https://img.card.jp.rakuten-static.com/corp/pc/common/mail/rc-logo_Card_175x32@2x.png"
            in roles[IMAGE])
    assert "https://cdn.example.net/bg.gif" in roles[IMAGE]  # protocol-relative, made absolute
    assert any("https://cdn.example.net/x.png" in text for text in roles[IMAGE])  # CSS in a style attribute
    assert any("https://style.example.com/a.png" in text for text in roles[IMAGE])  # a style element
    assert any("https://comment.example.com/" in text for text in roles[LINK])
    assert any("https://script.example.com/" in text for text in roles[LINK])
    assert any("https://support.example.org/ & more" in text for text in roles[TEXT])
    assert "楽天安全センター" in roles[TEXT]
    assert "楽天カード株式会社" in roles[LINK]  # alt text: an attribute, not shown text


def test_source_cut_off_inside_a_tag_or_quote():
    roles = by_role('<p>text <a href="https://cut.example.com/path')
    assert roles == {TEXT: ["text "], LINK: ["https://cut.example.com/path"]}
    assert by_role("<!-- never closed https://x.example/")[LINK] == [" never closed https://x.example/"]


def test_what_is_html():
    assert looks_like_html("<HTML><BODY>x</BODY></HTML>")
    assert looks_like_html('<table><tr><td>x</td></tr></table>')
    assert looks_like_html('<!DOCTYPE html>\n<p>x')
    assert not looks_like_html("<ご連絡先>\n楽天カード株式会社")
    assert not looks_like_html("<以下省略>")
    assert not looks_like_html("a < b and c > d")


def test_hostile_source_is_read_in_one_pass():
    # Shapes that make a backtracking scanner quadratic or worse: they must simply finish.
    for source in ('<a ' + '"' * 200_000, "<" * 200_000, '<a b="' + "x" * 200_000, "<!--" * 50_000,
                   '<a ' + "b=c " * 100_000, "<script>" + "<" * 100_000):
        assert sum(len(piece.text) for piece in pieces(source)) <= len(source)
