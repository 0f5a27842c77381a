"""Documents that are not what they seem are skipped with a reason: pipes, links to nowhere, huge files, pages
nested 100,000 deep or holding 50,000 line breaks (which took bs4's tree editing minutes) and broken PDFs."""

from __future__ import annotations

import os
import time

from training.rag.ingest import html_to_text, read_documents


def test_pipes_loops_and_broken_links_are_skipped_with_a_reason(tmp_path):
    (tmp_path / "a.md").write_text("# A\n\nReal text.\n")
    os.mkfifo(tmp_path / "pipe.md")  # reading it would block forever
    (tmp_path / "gone.md").symlink_to(tmp_path / "nowhere.md")
    (tmp_path / "loop1.md").symlink_to(tmp_path / "loop2.md")
    (tmp_path / "loop2.md").symlink_to(tmp_path / "loop1.md")
    result = read_documents([tmp_path])
    assert [d.source for d in result.documents] == ["a.md"]
    reasons = {s.path: s.reason for s in result.skipped}
    assert set(reasons) == {"pipe.md", "gone.md", "loop1.md", "loop2.md"}
    assert all("not a regular file" in r for r in reasons.values())
    alone = read_documents([tmp_path / "pipe.md"])
    assert not alone.documents and alone.skipped[0].path == "pipe.md"


def test_a_file_over_the_size_limit_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNEWISE_MAX_FILE_BYTES", "1000")
    (tmp_path / "small.txt").write_text("Small enough.\n")
    (tmp_path / "big.txt").write_text("word " * 400)
    result = read_documents([tmp_path])
    assert [d.source for d in result.documents] == ["small.txt"]
    assert "TUNEWISE_MAX_FILE_BYTES" in result.skipped[0].reason


def test_a_broken_pdf_is_skipped(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF")
    result = read_documents([tmp_path])
    assert not result.documents and "PDF" in result.skipped[0].reason


def test_html_nested_very_deeply_or_with_many_elements_is_read_in_linear_time():
    started = time.perf_counter()
    assert html_to_text("<div>" * 100_000 + "deep" + "</div>" * 100_000) == "deep"
    text = html_to_text("<ul>" + "<li>a<br>b</li>" * 20_000 + "</ul>" + "<p>x</p>" * 20_000)
    assert text.startswith("- a\nb\n- a\nb") and text.endswith("x\n\nx")
    assert time.perf_counter() - started < 30  # the old tree editing took minutes for these


def test_void_tags_with_and_without_slashes_read_the_same():
    html = '<p>a<BR class="x">b<br/>c<img alt="a>b">d</p><hr><p>e</p>'
    assert html_to_text(html) == "a\nb\ncd\n\ne"
