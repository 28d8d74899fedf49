"""Author metadata written into generated images (spec §2.1.6), and read back by verification.

PNG gets iTXt text chunks (UTF-8 by definition) and an XMP packet; JPEG gets EXIF Artist, Copyright,
ImageDescription, Software and DateTime, and the same XMP packet. EXIF's text tags are nominally ASCII;
they are written as UTF-8, which is what exiftool and most readers expect, so Korean names survive.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from email.utils import format_datetime

from PIL import Image, PngImagePlugin

from core.image_format import ImageFormat
from core.images import JPEG_QUALITY
from core.provenance_info import TRAINED_ALGORITHMIC_MEDIA, ProvenanceInfo

XMP_PNG_KEYWORD = "XML:com.adobe.xmp"
NAMESPACES = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "stylelicense": "urn:style-license:provenance:1.0#",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EXIF_DESCRIPTION = 0x010E
EXIF_SOFTWARE = 0x0131
EXIF_DATETIME = 0x0132
EXIF_ARTIST = 0x013B
EXIF_COPYRIGHT = 0x8298
# Our own XMP properties: (name in XMP, field of ImageMetadata, whether it is a number).
_OWN_PROPERTIES = (
    ("ArtistId", "artist_id", True),
    ("StyleId", "style_id", True),
    ("StyleTitle", "style_title", False),
    ("GenerationId", "generation_id", True),
    ("Seed", "seed", True),
)

for _prefix, _uri in NAMESPACES.items():
    ET.register_namespace(_prefix, _uri)


def _qualified(prefix: str, name: str) -> str:
    return f"{{{NAMESPACES[prefix]}}}{name}"


@dataclass(frozen=True)
class ImageMetadata:
    """What an image's metadata says, as claims: anyone can write metadata. Absent fields are None."""

    artist_name: str | None = None
    artist_id: int | None = None
    style_id: int | None = None
    style_title: str | None = None
    generation_id: int | None = None
    seed: int | None = None
    platform: str | None = None
    licence: str | None = None
    created_at: str | None = None


def encode_with_metadata(image: Image.Image, info: ProvenanceInfo, image_format: ImageFormat) -> bytes:
    buffer = io.BytesIO()
    xmp = xmp_packet(info)
    if image_format is ImageFormat.png:
        text = PngImagePlugin.PngInfo()
        for keyword, value in (
            ("Author", info.artist_name),
            ("Description", info.description),
            ("Copyright", info.licence),
            ("Creation Time", format_datetime(info.created_at)),
            ("Software", info.platform),
            (XMP_PNG_KEYWORD, xmp.decode()),
        ):
            text.add_itxt(keyword, value)
        image.save(buffer, "PNG", pnginfo=text, compress_level=6)
    elif image_format is ImageFormat.jpeg:
        exif = Image.Exif()
        exif[EXIF_ARTIST] = info.artist_name.encode()
        exif[EXIF_COPYRIGHT] = info.licence.encode()
        exif[EXIF_DESCRIPTION] = info.description.encode()
        exif[EXIF_SOFTWARE] = info.platform.encode()
        exif[EXIF_DATETIME] = info.created_at.strftime("%Y:%m:%d %H:%M:%S")
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=0, exif=exif, xmp=xmp)
    else:
        raise ValueError(f"generated images are PNG or JPEG, not {image_format}")
    return buffer.getvalue()


def xmp_packet(info: ProvenanceInfo) -> bytes:
    meta = ET.Element(_qualified("x", "xmpmeta"))
    rdf = ET.SubElement(meta, _qualified("rdf", "RDF"))
    description = ET.SubElement(rdf, _qualified("rdf", "Description"), {
        _qualified("rdf", "about"): "",
        _qualified("xmp", "CreateDate"): info.created_at.isoformat(),
        _qualified("xmp", "CreatorTool"): info.platform,
        _qualified("xmpRights", "Marked"): "True",
        _qualified("Iptc4xmpExt", "DigitalSourceType"): TRAINED_ALGORITHMIC_MEDIA,
    })
    for name, field, _ in _OWN_PROPERTIES:
        description.set(_qualified("stylelicense", name), str(getattr(info, field)))
    _language_alternative(description, "dc", "description", info.description)
    _language_alternative(description, "dc", "rights", info.licence)
    _language_alternative(description, "xmpRights", "UsageTerms", info.licence)
    creator = ET.SubElement(description, _qualified("dc", "creator"))
    names = ET.SubElement(creator, _qualified("rdf", "Seq"))
    ET.SubElement(names, _qualified("rdf", "li")).text = info.artist_name
    body = ET.tostring(meta, encoding="unicode")
    return f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>{body}<?xpacket end="r"?>'.encode()


def _language_alternative(parent: ET.Element, prefix: str, name: str, text: str) -> None:
    alternatives = ET.SubElement(ET.SubElement(parent, _qualified(prefix, name)), _qualified("rdf", "Alt"))
    ET.SubElement(alternatives, _qualified("rdf", "li"), {XML_LANG: "x-default"}).text = text


def read_metadata(image: Image.Image) -> ImageMetadata | None:
    """The provenance claims in a decoded PNG or JPEG (Pillow keeps the metadata in `info`), from XMP when
    present, otherwise from PNG text chunks or EXIF; None when it carries none."""
    xmp = image.info.get("xmp") or image.info.get(XMP_PNG_KEYWORD)
    from_xmp = _parse_xmp(xmp) if xmp else None
    return from_xmp or _from_text_fields(image)


def _parse_xmp(packet: bytes | str) -> ImageMetadata | None:
    raw = packet.encode() if isinstance(packet, str) else packet
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:  # XMP never needs them; they are how XML attacks start
        return None
    try:
        root = ET.fromstring(raw.strip(b"\x00 \t\r\n"))
    except ET.ParseError:
        return None
    values: dict[str, str] = {}
    for description in root.iter(_qualified("rdf", "Description")):
        for key, value in description.attrib.items():
            values.setdefault(key, value)
        for child in description:
            item = child.find(f".//{_qualified('rdf', 'li')}")
            text = item.text if item is not None else child.text
            if text:
                values.setdefault(child.tag, text)
    own = {field: _number(values.get(_qualified("stylelicense", name))) if numeric
           else values.get(_qualified("stylelicense", name)) for name, field, numeric in _OWN_PROPERTIES}
    metadata = ImageMetadata(
        artist_name=values.get(_qualified("dc", "creator")),
        platform=values.get(_qualified("xmp", "CreatorTool")),
        licence=values.get(_qualified("dc", "rights")),
        created_at=values.get(_qualified("xmp", "CreateDate")),
        **own,
    )
    return metadata if metadata != ImageMetadata() else None


def _number(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _from_text_fields(image: Image.Image) -> ImageMetadata | None:
    if image.format == "PNG":
        text = getattr(image, "text", {})
        metadata = ImageMetadata(
            artist_name=text.get("Author"),
            licence=text.get("Copyright"),
            platform=text.get("Software"),
            created_at=text.get("Creation Time"),
        )
    else:
        try:
            exif = image.getexif()
        except Exception:  # damaged EXIF claims nothing
            return None
        metadata = ImageMetadata(
            artist_name=_exif_text(exif.get(EXIF_ARTIST)),
            licence=_exif_text(exif.get(EXIF_COPYRIGHT)),
            platform=_exif_text(exif.get(EXIF_SOFTWARE)),
            created_at=_exif_text(exif.get(EXIF_DATETIME)),
        )
    return metadata if metadata != ImageMetadata() else None


def _exif_text(value: object) -> str | None:
    """EXIF text as written by us (UTF-8); Pillow hands ASCII tags back decoded as Latin-1."""
    if not isinstance(value, str):
        return None
    try:
        return value.encode("latin-1").decode("utf-8").rstrip("\x00")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value
