"""A section's narrative is XHTML a viewer can show, whatever a registry wrote."""

from __future__ import annotations

from xml.etree import ElementTree

from resolvers.ips import narrative


def test_a_registrys_markup_is_text_in_the_narrative() -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)> & more'
    div = narrative.div(narrative.paragraph("Note"), narrative.table(["What"], [[hostile], [None]]))
    root = ElementTree.fromstring(div)
    assert root.tag == "{http://www.w3.org/1999/xhtml}div"
    assert not root.findall(".//{http://www.w3.org/1999/xhtml}script")
    assert not root.findall(".//{http://www.w3.org/1999/xhtml}img")
    cells = [td.text for td in root.iter("{http://www.w3.org/1999/xhtml}td")]
    assert cells == [hostile, None]
