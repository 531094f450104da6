"""S3FileStore against moto's S3 server over real HTTP.

Moto stands in for S3 because no S3 server (AWS or an S3-compatible one) can run here; it is a
real HTTP server on 127.0.0.1, so s3fs/aiobotocore go through their full request path.
"""

import hashlib
import json
import uuid
from datetime import UTC

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.support import free_port
from unstract.connectors.filestore import ConnectorError, PathEscapeError
from unstract.connectors.registry import open_file_store
from unstract.connectors.s3 import S3FileStore

pytestmark = pytest.mark.slow

KEY, SECRET = "AKIAMOTOTESTKEY", "moto-test-secret-value"


@pytest.fixture(scope="module")
def endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture()
def s3_client(endpoint):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
    )


@pytest.fixture()
def bucket(s3_client):
    name = f"b-{uuid.uuid4().hex[:20]}"
    s3_client.create_bucket(Bucket=name)
    for key, body in {
        "top.pdf": b"top",
        "inbox/a.txt": b"alpha",
        "inbox/.hidden.txt": b"h",
        "inbox/empty.txt": b"",
        "inbox/sub/b.txt": b"beta",
        "inbox/sub/": b"",
        "pre/fix/in.txt": b"in prefix",
        "pre/fix/deeper/x.txt": b"x",
        "pre/fixture.txt": b"not in prefix",
    }.items():
        s3_client.put_object(Bucket=name, Key=key, Body=body)
    return name


def store(endpoint, bucket, prefix=""):
    return S3FileStore(bucket=bucket, prefix=prefix, key=KEY, secret=SECRET, endpoint_url=endpoint)


def paths(entries):
    return sorted(entry.path for entry in entries)


def test_is_dir_needs_a_key_below_the_folder_and_root_always_exists(endpoint, bucket):
    s3 = store(endpoint, bucket)
    assert s3.is_dir("") and s3.is_dir("/")
    assert s3.is_dir("inbox") and s3.is_dir("/inbox/sub/")
    assert not s3.is_dir("missing")
    assert not s3.is_dir("top.pdf")
    assert not s3.is_dir("inbo")
    assert not s3.is_dir("../inbox")


def test_is_dir_is_relative_to_the_prefix(endpoint, bucket):
    s3 = store(endpoint, bucket, prefix="pre/fix/")
    assert s3.is_dir("") and s3.is_dir("deeper")
    assert not s3.is_dir("inbox")


def test_walk_non_recursive_lists_direct_children(endpoint, bucket):
    assert paths(store(endpoint, bucket).walk("", recursive=False)) == ["top.pdf"]
    assert paths(store(endpoint, bucket).walk("inbox", recursive=False)) == [
        "inbox/.hidden.txt",
        "inbox/a.txt",
        "inbox/empty.txt",
    ]


def test_walk_recursive_skips_directory_markers_and_respects_depth(endpoint, bucket):
    s3 = store(endpoint, bucket)
    assert paths(s3.walk("inbox/", recursive=True)) == [
        "inbox/.hidden.txt",
        "inbox/a.txt",
        "inbox/empty.txt",
        "inbox/sub/b.txt",
    ]
    assert "inbox/sub/b.txt" not in paths(s3.walk("", recursive=True, max_depth=1))
    assert "inbox/a.txt" in paths(s3.walk("", recursive=True, max_depth=1))


def test_walk_stops_ten_levels_below_the_folder(endpoint, s3_client, bucket):
    for level in range(13):
        s3_client.put_object(Bucket=bucket, Key="deep/" + "d/" * level + f"f{level}.txt", Body=b"x")
    found = paths(store(endpoint, bucket).walk("deep", recursive=True))
    assert len(found) == 11
    assert max(p.count("/") for p in found) == 11


def test_walk_paths_are_relative_to_the_prefix(endpoint, bucket):
    assert paths(store(endpoint, bucket, prefix="pre/fix").walk("", recursive=True)) == [
        "deeper/x.txt",
        "in.txt",
    ]


def test_walk_reports_size_utc_mtime_and_unquoted_etag(endpoint, bucket):
    entries = {e.path: e for e in store(endpoint, bucket).walk("inbox", recursive=False)}
    assert entries["inbox/a.txt"].size == 5
    assert entries["inbox/empty.txt"].size == 0
    assert entries["inbox/a.txt"].etag == hashlib.md5(b"alpha").hexdigest()
    assert entries["inbox/a.txt"].mtime.tzinfo == UTC


def test_walk_pages_through_more_than_one_listing_page(endpoint, s3_client, bucket):
    for index in range(7):
        s3_client.put_object(Bucket=bucket, Key=f"many/{index}.txt", Body=b"")
    s3 = store(endpoint, bucket)
    s3.page_size = 2
    assert paths(s3.walk("many", recursive=True)) == [f"many/{index}.txt" for index in range(7)]
    assert len(list(s3.walk("", recursive=False))) == 1


def test_walk_of_missing_bucket_is_a_connector_error(endpoint):
    with pytest.raises(ConnectorError, match="does not exist"):
        list(store(endpoint, "no-such-bucket-here").walk("", recursive=True))


def test_read_bytes_open_read_and_sha256(endpoint, s3_client, bucket):
    data = bytes(range(256)) * 9000
    s3_client.put_object(Bucket=bucket, Key="pre/fix/big.bin", Body=data)
    s3 = store(endpoint, bucket, prefix="pre/fix")
    assert s3.read_bytes("in.txt") == b"in prefix"
    with s3.open_read("big.bin") as handle:
        assert handle.read(3) == bytes([0, 1, 2])
    assert s3.sha256_and_size("big.bin") == (hashlib.sha256(data).hexdigest(), len(data))
    assert store(endpoint, bucket).sha256_and_size("inbox/empty.txt") == (hashlib.sha256(b"").hexdigest(), 0)


def test_read_of_missing_key_raises_file_not_found(endpoint, bucket):
    with pytest.raises(FileNotFoundError):
        store(endpoint, bucket).read_bytes("inbox/missing.txt")


@pytest.mark.parametrize("folder", ["inbox", "inbox/sub"])
def test_read_of_a_key_prefix_raises_file_not_found_instead_of_empty_bytes(endpoint, bucket, folder):
    with pytest.raises(FileNotFoundError):
        store(endpoint, bucket).read_bytes(folder)


@pytest.mark.parametrize("bad", ["../fixture.txt", "/top.pdf", "a/../../x"])
def test_read_rejects_paths_leaving_the_prefix(endpoint, bucket, bad):
    with pytest.raises(PathEscapeError):
        store(endpoint, bucket, prefix="pre/fix").read_bytes(bad)


def test_write_json_puts_one_object_at_prefix_relative_key(endpoint, s3_client, bucket):
    payload = {"name": "Zoë", "n": 1}
    target = store(endpoint, bucket, prefix="/pre/fix/").write_json_atomic(
        "out/a/b.pdf.json", payload, "fe-1"
    )
    assert target == f"s3://{bucket}/pre/fix/out/a/b.pdf.json"
    body = s3_client.get_object(Bucket=bucket, Key="pre/fix/out/a/b.pdf.json")["Body"].read()
    assert body == (json.dumps(payload, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def test_write_json_without_prefix_has_no_empty_leading_segment(endpoint, s3_client, bucket):
    target = store(endpoint, bucket).write_json_atomic("out/x.json", {"v": 1}, "fe-1")
    store(endpoint, bucket).write_json_atomic("out/x.json", {"v": 2}, "fe-1")
    assert target == f"s3://{bucket}/out/x.json"
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket, Prefix="out")["Contents"]]
    assert keys == ["out/x.json"]
    assert json.loads(s3_client.get_object(Bucket=bucket, Key="out/x.json")["Body"].read()) == {"v": 2}


def test_write_json_rejects_escaping_paths(endpoint, bucket):
    with pytest.raises(PathEscapeError, match="path escapes the connector root."):
        store(endpoint, bucket, prefix="pre/fix").write_json_atomic("../x.json", {}, "s")


def test_open_file_store_builds_an_s3_store_from_metadata(endpoint, bucket):
    metadata = {
        "bucket": bucket,
        "endpoint_url": endpoint,
        "key": KEY,
        "secret": SECRET,
        "region": "us-east-1",
        "prefix": "pre/fix",
    }
    with open_file_store("s3", metadata, allowed_roots=[]) as s3:
        assert paths(s3.walk("", recursive=False)) == ["in.txt"]
        assert SECRET not in repr(s3)


def test_store_without_key_sends_unsigned_requests(endpoint, bucket):
    anonymous = open_file_store("s3", {"bucket": bucket, "endpoint_url": endpoint}, allowed_roots=[])
    assert anonymous.fs.anon is True
    assert "top.pdf" in paths(anonymous.walk("", recursive=False))


def test_unreachable_endpoint_is_a_connector_error_without_the_secret():
    s3 = store(f"http://127.0.0.1:{free_port()}", "some-bucket")
    with pytest.raises(ConnectorError) as caught:
        s3.is_dir("x")
    assert SECRET not in str(caught.value) and KEY not in str(caught.value)
