"""Real image files made with Pillow for the image tests, friendly and hostile, and readers for
what a served file holds (EXIF, GPS, XMP, colour profile).

Every friendly file carries metadata that must never reach a reader: GPS coordinates, a
description, an XMP packet, a comment, each with a marker string a test can look for in the
served bytes.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image, ImageDraw

GPS_MARKER = b"SECRET-GPS-AREA-MARKER"
EXIF_MARKER = b"SECRET-EXIF-DESCRIPTION"
XMP_MARKER = b"SECRET-XMP-MARKER"
COMMENT_MARKER = b"SECRET-COMMENT-MARKER"
MARKERS = (GPS_MARKER, EXIF_MARKER, XMP_MARKER, COMMENT_MARKER)
TOP = (220, 30, 30)  # the upright picture's top band: red
BOTTOM = (30, 30, 220)  # its bottom band: blue
XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.49N" '
    b'exif:GPSLongitude="2,17.67E">' + XMP_MARKER + b"</rdf:Description></rdf:RDF>"
    b'</x:xmpmeta><?xpacket end="w"?>'
)


def scene(width: int, height: int, seed: int = 0) -> Image.Image:
    """An upright picture: a red band on top, a blue one below, shapes and noise between (so
    JPEG and WebP have real work, as with a photo)."""
    image = Image.merge(
        "RGB",
        (
            Image.linear_gradient("L").resize((width, height)),
            Image.effect_noise((width, height), 24 + seed).point(lambda v: v // 2 + 64),
            Image.radial_gradient("L").resize((width, height)),
        ),
    )
    draw = ImageDraw.Draw(image)
    band = max(4, height // 10)
    draw.rectangle((0, 0, width, band), fill=TOP)
    draw.rectangle((0, height - band, width, height), fill=BOTTOM)
    for n in range(12):
        x, y = (width * (n * 37 % 100)) // 100, band + (height - 3 * band) * (n * 53 % 100) // 100
        draw.ellipse((x, y, x + width // 8, y + height // 8), fill=(40 * n % 256, 180, 90))
    return image


def phone_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: camera, time, GPS position, and a description."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Pixelphone"
    exif[ExifTags.Base.Model] = "Pixelphone 9 Pro"
    exif[ExifTags.Base.DateTime] = "2026:11:28 07:42:10"
    exif[ExifTags.Base.ImageDescription] = EXIF_MARKER.decode()
    if orientation != 1:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 29.6)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 17.0, 40.2)
    gps[ExifTags.GPS.GPSAreaInformation] = GPS_MARKER.decode()
    return exif


def phone_photo(
    width: int = 2400, height: int = 1800, *, icc: bytes | None = None, quality: int = 90
) -> bytes:
    """A JPEG as a phone held upright saves it: the sensor's landscape pixels (width × height)
    with EXIF orientation 6 ("turn 90° clockwise to show"), so the picture is height × width,
    red band on top, once turned. GPS, XMP, a comment and (if given) a colour profile ride along.
    """
    upright = scene(height, width)
    sensor = upright.transpose(Image.Transpose.ROTATE_90)  # what orientation 6 turns back
    assert sensor.size == (width, height)
    options = {"exif": phone_exif(6), "xmp": XMP, "comment": COMMENT_MARKER, "quality": quality}
    if icc:
        options["icc_profile"] = icc
    return save(sensor, "JPEG", **options)


def save(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def jpeg(width: int = 1200, height: int = 900, quality: int = 90) -> bytes:
    """A plain upright JPEG with GPS in its EXIF."""
    return save(scene(width, height), "JPEG", exif=phone_exif(), quality=quality)


def png(width: int = 1000, height: int = 700, *, alpha: bool = True) -> bytes:
    """A PNG (with an alpha channel) carrying a text chunk, XMP and EXIF with GPS."""
    from PIL import PngImagePlugin

    image = scene(width, height).convert("RGBA" if alpha else "RGB")
    if alpha:
        image.putalpha(
            Image.linear_gradient("L").resize((width, height)).point(lambda v: 64 + v // 2)
        )
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", COMMENT_MARKER.decode())
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    return save(image, "PNG", pnginfo=info, exif=phone_exif())


def webp(width: int = 1100, height: int = 800) -> bytes:
    """A WebP with EXIF (GPS) and XMP."""
    return save(scene(width, height), "WEBP", exif=phone_exif(), xmp=XMP, quality=85)


def animated_gif(
    width: int = 120, height: int = 90, durations: tuple[int, ...] = (100, 250, 400)
) -> bytes:
    """A three-frame looping GIF (a different colour each frame) with a comment."""
    frames = [
        Image.new("RGB", (width, height), colour).convert("P")
        for colour in ((200, 40, 40), (40, 200, 40), (40, 40, 200))[: len(durations)]
    ]
    return save(
        frames[0],
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=list(durations),
        loop=0,
        comment=COMMENT_MARKER,
    )


# --- Hostile files ----------------------------------------------------------------------------

SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)
HTML_NAMED_JPG = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
HTML_PAYLOAD = b"<html><body><script>alert('polyglot')</script></body></html>"
# "GIF89a" read as JavaScript: an assignment, then code. No real GIF data follows.
GIF_JS_POLYGLOT = (
    b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=1;alert(document.domain);//" + b"\x00" * 16
)


def png_with_html_appended() -> bytes:
    """A real PNG followed by an HTML page: a polyglot a browser might sniff as HTML."""
    return png(64, 48, alpha=False) + HTML_PAYLOAD


def jpeg_with_html_appended() -> bytes:
    return jpeg(200, 150) + HTML_PAYLOAD


def truncated_jpeg() -> bytes:
    data = jpeg(800, 600)
    return data[: len(data) // 2]


def bomb_png(width: int, height: int) -> bytes:
    """A greyscale PNG of width × height zero pixels: a few hundred KB that unpack to
    width × height bytes (8000 × 8000: 64 MB in a 63 KB file)."""
    row = b"\x00" * (width + 1)  # filter byte + pixels
    deflate = zlib.compressobj(9)
    chunks = [deflate.compress(row) for _ in range(height)]
    chunks.append(deflate.flush())
    idat = b"".join(chunks)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def bomb_header(width: int = 100_000, height: int = 100_000) -> bytes:
    """Only the header of a 10-gigapixel PNG (Pillow's own limit answers before ours)."""
    data = bomb_png(1, 1)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + body + struct.pack(">I", zlib.crc32(body))
    return data[:8] + ihdr + data[8 + len(ihdr) :]


def heic_like() -> bytes:
    """The first bytes of an iPhone HEIC photo."""
    return b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


# --- A Display P3 colour profile, built by hand ----------------------------------------------


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \x00\x00\x00\x00" + _s15(x) + _s15(y) + _s15(z)


def display_p3_profile(description: str = "Display P3 (test)") -> bytes:
    """An ICC v2 matrix/TRC profile with Display P3 primaries (D50-adapted) and gamma 2.2.

    Phones tag their photos with Display P3; shown as sRGB, such a photo looks dull.
    """
    text = description.encode("ascii") + b"\x00"
    desc = b"desc\x00\x00\x00\x00" + struct.pack(">I", len(text)) + text + b"\x00" * 79
    curve = b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, round(2.2 * 256)) + b"\x00\x00"
    tags = [
        (b"desc", desc),
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz(0.5151, 0.2412, -0.0011)),
        (b"gXYZ", _xyz(0.2919, 0.6922, 0.0419)),
        (b"bXYZ", _xyz(0.1572, 0.0666, 0.7841)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += b"\x00" * (-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 11, 28, 7, 42, 10)
        + b"acspAPPL"
        + b"\x00" * 24
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + b"lcms"
        + b"\x00" * 44
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


# --- What a served file holds -----------------------------------------------------------------


def open_bytes(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def metadata_left(data: bytes) -> list[str]:
    """Name every kind of metadata still in an image file (empty: clean)."""
    image = open_bytes(data)
    found = []
    exif = image.getexif()
    if len(exif):
        found.append(f"EXIF tags {sorted(exif)}")
    if exif.get_ifd(ExifTags.IFD.GPSInfo):
        found.append("GPS")
    for key in ("xmp", "XML:com.adobe.xmp", "comment", "icc_profile", "exif", "Comment"):
        if image.info.get(key):
            found.append(key)
    if getattr(image, "text", None):
        found.append(f"text chunks {sorted(image.text)}")
    for marker in MARKERS + (HTML_PAYLOAD,):
        if marker in data:
            found.append(f"the bytes {marker[:20]!r}")
    return found
