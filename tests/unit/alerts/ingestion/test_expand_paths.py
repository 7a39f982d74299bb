"""`herald ingest PATH...`: which files a directory or pattern names."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.ingestion.files import expand_paths


def test_a_directory_gives_its_own_xml_files_not_its_sub_directories(tmp_path: Path) -> None:
    (tmp_path / "b.xml").write_text("<b/>")
    (tmp_path / "a.XML").write_text("<a/>")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "2024").mkdir()
    (tmp_path / "2024" / "c.xml").write_text("<c/>")
    assert expand_paths([str(tmp_path)]) == [tmp_path / "a.XML", tmp_path / "b.xml"]
    recursive = expand_paths([f"{tmp_path}/**/*.xml"])
    assert recursive == [tmp_path / "2024" / "c.xml", tmp_path / "b.xml"]


def test_a_directory_without_xml_files_is_an_error_saying_so(tmp_path: Path) -> None:
    (tmp_path / "2024").mkdir()
    (tmp_path / "2024" / "c.xml").write_text("<c/>")
    with pytest.raises(FileNotFoundError) as caught:
        expand_paths([str(tmp_path)])
    assert "no *.xml file in this directory" in str(caught.value)
    assert "sub-directories are not read" in str(caught.value)
    with pytest.raises(FileNotFoundError, match=r"no \*\.xml file in this directory"):
        expand_paths([str(tmp_path / "2024" / ".." / "2024" / "..")])


def test_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no \*\.xml file in this directory$"):
        expand_paths([str(tmp_path)])
