"""The bytes behind a DocumentReference: a plain-text note or a one-page PDF."""

from __future__ import annotations

from collections.abc import Sequence

TEXT_PLAIN = "text/plain; charset=utf-8"
PDF = "application/pdf"


def render_text(title: str, header: Sequence[str], body: Sequence[str]) -> bytes:
    """A document as UTF-8 text: title, header lines, a blank line, the body."""
    lines = [title, "=" * len(title), *header, "", *body, ""]
    return "\n".join(lines).encode("utf-8")


def render_pdf(title: str, header: Sequence[str], body: Sequence[str]) -> bytes:
    """A minimal valid one-page PDF (Helvetica, WinAnsi, so æøå survive) with the same text."""
    text_ops = ["BT", "/F1 14 Tf", "50 800 Td", f"({_pdf_escape(title)}) Tj", "/F1 10 Tf"]
    for line in [*header, "", *body]:
        text_ops += ["0 -16 Td", f"({_pdf_escape(line)}) Tj"]
    text_ops.append("ET")
    stream = "\n".join(text_ops).encode("cp1252", errors="replace")

    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body_bytes in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body_bytes + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
