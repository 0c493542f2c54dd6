"""Reports bucket: deterministic keys, whole objects."""

from collections.abc import Iterator
from typing import Any


class ReportStore:
    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self.bucket = bucket

    def put(self, key: str, body: bytes, content_type: str) -> None:
        """Write one object (server-side encrypted by the bucket's default)."""
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def get(self, key: str) -> bytes | None:
        """One object's bytes, or None if it does not exist."""
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
        except self._s3.exceptions.NoSuchKey:
            return None
        body: bytes = response["Body"].read()
        return body

    def keys(self, prefix: str) -> Iterator[str]:
        """Every key under a prefix, in S3's (lexicographic) order, page by page."""
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield str(item["Key"])
