import hashlib
import io
import urllib.error

import pytest

from ganvae.data.download import fetch, sha256_of
from ganvae.errors import DataError

PAYLOAD = b"idx bytes " * 1000


@pytest.fixture
def served(tmp_path):
    source = tmp_path / "mirror" / "file.gz"
    source.parent.mkdir()
    source.write_bytes(PAYLOAD)
    return source


def test_fetch_file_url_writes_the_file(served, tmp_path):
    destination = tmp_path / "cache" / "file.gz"
    result = fetch(served.as_uri(), destination, hashlib.sha256(PAYLOAD).hexdigest())
    assert result == destination and destination.read_bytes() == PAYLOAD
    assert sha256_of(destination) == hashlib.sha256(PAYLOAD).hexdigest()
    assert list(destination.parent.iterdir()) == [destination]


def test_wrong_checksum_is_rejected_and_leaves_no_file(served, tmp_path):
    destination = tmp_path / "cache" / "file.gz"
    with pytest.raises(DataError, match="sha256"):
        fetch(served.as_uri(), destination, "ab" * 32)
    assert list(destination.parent.iterdir()) == []


def test_failed_fetch_keeps_an_existing_file(served, tmp_path):
    destination = tmp_path / "cache" / "file.gz"
    destination.parent.mkdir()
    destination.write_bytes(b"old")
    with pytest.raises(DataError):
        fetch(served.as_uri(), destination, "ab" * 32)
    assert destination.read_bytes() == b"old"
    assert list(destination.parent.iterdir()) == [destination]


def test_more_bytes_than_expected_is_rejected(served, tmp_path):
    destination = tmp_path / "file.gz"
    with pytest.raises(DataError, match="more than the expected 100 bytes"):
        fetch(served.as_uri(), destination, hashlib.sha256(PAYLOAD).hexdigest(), expected_bytes=100)
    assert not destination.exists()


def test_network_errors_become_data_errors(tmp_path):
    def offline(url, timeout):
        raise urllib.error.URLError("no route to host")

    with pytest.raises(DataError, match="could not download https://example.invalid/f.gz .no route to host."):
        fetch("https://example.invalid/f.gz", tmp_path / "f.gz", "0" * 64, opener=offline)
    assert list(tmp_path.iterdir()) == []


def test_a_fake_opener_is_used_with_the_timeout(tmp_path):
    seen = {}

    def opener(url, timeout):
        seen.update(url=url, timeout=timeout)
        return io.BytesIO(PAYLOAD)

    fetch("https://mirror/f.gz", tmp_path / "f.gz", hashlib.sha256(PAYLOAD).hexdigest(), opener=opener, timeout=3)
    assert seen == {"url": "https://mirror/f.gz", "timeout": 3}
    assert (tmp_path / "f.gz").read_bytes() == PAYLOAD


def test_missing_local_source_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="could not download"):
        fetch((tmp_path / "absent.gz").as_uri(), tmp_path / "out" / "absent.gz", "0" * 64)
