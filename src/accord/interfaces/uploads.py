"""Uploaded files, streamed to a temporary folder inside the trust home with a size limit.

Both the API and the web upload page use this, then hand the file to the same ingest path as
the CLI. Nothing is written outside the home, and nothing is held whole in memory.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from accord.errors import AccordError, InvalidInput

DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_FIELD_BYTES = 64 * 1024


class UploadTooLarge(AccordError):
    code = "upload-too-large"
    status = 413


def max_upload_bytes() -> int:
    """The upload size limit: ``ACCORD_MAX_UPLOAD_MB`` or 512 MiB."""
    value = os.environ.get("ACCORD_MAX_UPLOAD_MB")
    return int(float(value) * 1024 * 1024) if value else DEFAULT_MAX_UPLOAD_BYTES


@dataclass
class ReceivedUpload:
    """One uploaded file kept under ``HOME/tmp/uploads``, and the form's other fields."""

    folder: Path
    filename: str | None = None
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        if self.filename is None:
            raise InvalidInput("Choose a file to upload (the form field is called 'file')")
        return self.folder / self.filename

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def safe_filename(name: str) -> str:
    """The last part of a client's file name, with only harmless characters left."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _SAFE_NAME.sub("_", base).strip("._") or "upload"
    return cleaned[:120]


def upload_folder(home: Path) -> Path:
    root = home / "tmp" / "uploads"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = root / secrets.token_hex(8)
    folder.mkdir(mode=0o700)
    return folder


async def receive_upload(
    request: Request,
    home: Path,
    limit: int,
    file_field: str = "file",
    *,
    require_file: bool = True,
) -> ReceivedUpload:
    """Stream a ``multipart/form-data`` body: its file to disk, its small fields to a dict.

    Raises UploadTooLarge once the file passes ``limit`` bytes (the partial file is removed)
    and InvalidInput for a body that is not a form, or (with ``require_file``) has no file.
    """
    content_type, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise InvalidInput(
            "Send the file as multipart/form-data with a field called 'file' "
            "(e.g. curl -F file=@pupils.csv)"
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise UploadTooLarge(_too_large(limit))

    upload = ReceivedUpload(folder=upload_folder(home))
    state: dict[str, object] = {}
    headers: dict[str, bytes] = {}
    header_name = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        headers.clear()
        state.update(kind=None, name=None, sink=None, buffer=bytearray())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        headers[bytes(header_name).lower().decode("latin-1")] = bytes(header_value)
        header_name.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(headers.get("content-disposition"))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        filename = disposition.get(b"filename")
        state["name"] = name
        if name == file_field and filename and upload.filename is None:
            upload.filename = safe_filename(filename.decode("utf-8", "replace"))
            state["kind"] = "file"
            state["sink"] = (upload.folder / upload.filename).open("wb")
        else:
            state["kind"] = "field"

    def on_part_data(data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if state["kind"] == "file":
            upload.size += len(chunk)
            if upload.size > limit:
                raise UploadTooLarge(_too_large(limit))
            sink = state["sink"]
            assert isinstance(sink, IO) or hasattr(sink, "write")
            sink.write(chunk)  # type: ignore[union-attr]
        else:
            buffer = state["buffer"]
            assert isinstance(buffer, bytearray)
            if len(buffer) + len(chunk) > _MAX_FIELD_BYTES:
                raise InvalidInput(f"The form field {state['name']!r} is too long")
            buffer.extend(chunk)

    def on_part_end() -> None:
        if state.get("kind") == "file":
            state["sink"].close()  # type: ignore[union-attr]
        elif state.get("kind") == "field":
            buffer = state["buffer"]
            assert isinstance(buffer, bytearray)
            upload.fields[str(state["name"])] = buffer.decode("utf-8", "replace")

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except AccordError:
        _close(state)
        upload.discard()
        raise
    except Exception as exc:  # a malformed body from the multipart parser
        _close(state)
        upload.discard()
        raise InvalidInput(f"The uploaded form could not be read: {exc}") from exc
    if upload.filename is not None and upload.size == 0:
        (upload.folder / upload.filename).unlink(missing_ok=True)
        upload.filename = None
    if upload.filename is None and require_file:
        upload.discard()
        raise InvalidInput("Choose a file to upload: the form had no file, or the file was empty")
    return upload


def _close(state: dict[str, object]) -> None:
    sink = state.get("sink")
    if sink is not None and hasattr(sink, "close"):
        sink.close()


def _too_large(limit: int) -> str:
    return (
        f"The file is larger than this trust accepts ({limit // (1024 * 1024)} MiB); "
        "split it, or ask the operator to raise ACCORD_MAX_UPLOAD_MB"
    )
