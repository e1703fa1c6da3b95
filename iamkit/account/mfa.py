"""Virtual MFA devices for the lessons: real TOTP codes from a device's seed, and its QR code.

``aws iam create-virtual-mfa-device`` returns a Base32 seed; :func:`totp` turns it into the
six-digit codes an authenticator app shows (RFC 6238, HMAC-SHA1, 30-second steps), and
:func:`consecutive_codes` gives the two codes that ``enable-mfa-device`` asks for.
:class:`VirtualMfaDevice` wraps the response and shows its QR code in Jupyter. The codes come
from pyotp and the QR code from segno, both imported only when used, so the engine keeps
needing nothing but the standard library. MFA in a request's context, and AWS's policy that
enforces it, are in :mod:`iamkit.account.mfa_context`.

Sources:

- RFC 6238, TOTP: https://datatracker.ietf.org/doc/html/rfc6238
- CreateVirtualMFADevice and the ``otpauth://`` URI its QR code encodes:
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_VirtualMFADevice.html
- EnableMFADevice: https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableMFADevice.html
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from typing import TYPE_CHECKING, Any, Callable, Mapping
from urllib.parse import quote, urlencode

from ..display import RichDisplay
from ..errors import MfaError

if TYPE_CHECKING:
    import pyotp

__all__ = [
    "MfaError",
    "QrCode",
    "VirtualMfaDevice",
    "consecutive_codes",
    "render_qr",
    "totp",
]

STEP_SECONDS = 30
"""The TOTP time step AWS virtual MFA devices use (RFC 6238's default X = 30)."""

MIN_SEED_BITS = 112
"""The shortest seed accepted: pyotp enforces NIST SP 800-63B-4's 112 bits. AWS's seeds
are 64 Base32 characters, 320 bits."""

_LATEST = 253402300800
"""10000-01-01T00:00:00Z: times from here on cannot be turned into codes (pyotp's limit)."""

_BASE32 = re.compile(r"[A-Z2-7]*")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_VIRTUAL_SERIAL = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):mfa/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)")


# ---------------------------------------------------------------------------
# Seeds, times and codes
# ---------------------------------------------------------------------------

def _seed_text(seed: object) -> str:
    """The seed as canonical Base32: upper case, no spaces, no ``=`` padding.

    Accepts what AWS hands out: boto3 gives ``Base32StringSeed`` as bytes holding the Base32
    text; the CLI's ``--outfile`` holds the same text; authenticator apps show it in groups
    separated by spaces.
    """
    if isinstance(seed, (bytes, bytearray, memoryview)):
        try:
            seed = bytes(seed).decode("ascii")
        except UnicodeDecodeError:
            raise MfaError("the seed is not Base32 text: it holds bytes that are not ASCII",
                           "pass `Base32StringSeed` as boto3 returns it (Base32 text as bytes), "
                           "not a decoded secret") from None
    if not isinstance(seed, str):
        raise MfaError(f"a seed must be Base32 text (str or bytes), not `{type(seed).__name__}`",
                       "pass `Base32StringSeed` from the create-virtual-mfa-device response")
    text = "".join(seed.split()).upper().rstrip("=")
    if not text:
        raise MfaError("the seed is empty",
                       "pass `Base32StringSeed` from the create-virtual-mfa-device response")
    bad = _BASE32.match(text)
    assert bad is not None
    if bad.end() < len(text):
        char = text[bad.end()]
        raise MfaError(f"the seed is not Base32: character {bad.end() + 1} is `{char}`",
                       "Base32 uses only the letters A–Z and the digits 2–7; a seed with `0`, `1`, `8`, `9`, "
                       "`+` or `/` is probably Base64 or hex, not the `Base32StringSeed` AWS returned")
    if len(text) % 8 in (1, 3, 6):
        raise MfaError(f"the seed is not Base32: no Base32 text is {len(text)} characters long",
                       "AWS seeds are 64 characters: was part of it cut off when copying?")
    try:
        secret = base64.b32decode(text + "=" * (-len(text) % 8))
    except binascii.Error as err:  # pragma: no cover - the checks above leave nothing for it
        raise MfaError(f"the seed is not Base32: {err}") from None
    if len(secret) * 8 < MIN_SEED_BITS:
        raise MfaError(f"the seed is too short for TOTP: {len(secret) * 8} bits, at least {MIN_SEED_BITS} needed",
                       "AWS seeds are 64 Base32 characters (320 bits): copy the whole `Base32StringSeed`")
    return text


def _timestamp(at: object) -> int:
    """Whole seconds since the Unix epoch for ``at`` (None: now).

    A naive datetime is taken as UTC, as AWS's clocks are, so the same notebook gives the
    same codes in every time zone.
    """
    if at is None:
        return int(time.time())
    if isinstance(at, datetime):
        aware = at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)
        seconds: float = aware.timestamp()
    elif isinstance(at, (int, float)) and not isinstance(at, bool):
        seconds = at
    else:
        raise MfaError(f"a time must be a datetime or Unix seconds, not `{type(at).__name__}`",
                       "pass `datetime.now(timezone.utc)`, `time.time()`, or nothing for now")
    if not math.isfinite(seconds) or not 0 <= seconds < _LATEST:
        raise MfaError(f"`{at}` is outside the times TOTP codes exist for",
                       "give a time between 1970-01-01 and the year 9999, in UTC")
    return math.floor(seconds)


def _pyotp() -> Any:
    try:
        import pyotp
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise ImportError("TOTP codes need the `pyotp` package — hint: pip install 'iamkit[workbook]'") from err
    return pyotp


def _generator(seed_text: str, digits: int) -> pyotp.TOTP:
    if isinstance(digits, bool) or not isinstance(digits, int) or not 6 <= digits <= 10:
        raise MfaError(f"`{digits}` digits is not a TOTP code length",
                       "AWS virtual MFA devices show 6 digits; RFC 6238's test vectors use 8")
    return _pyotp().TOTP(seed_text, digits=digits, interval=STEP_SECONDS)


def totp(seed: str | bytes, at: datetime | float | None = None, *, digits: int = 6) -> str:
    """The code a virtual MFA device shows at a given time (RFC 6238 TOTP, HMAC-SHA1, 30 s).

    Args:
        seed: the Base32 seed, as ``create-virtual-mfa-device`` returns it (``bytes`` from
            boto3, text from the CLI's ``--outfile``); case, spaces and ``=`` padding are ignored.
        at: when: a datetime (naive ones are taken as UTC) or Unix seconds; None for now.
        digits: the code length: 6 for AWS (the default); RFC 6238's test vectors use 8.

    Returns:
        The code, zero-padded, such as ``"094287"``.

    Raises:
        MfaError: when ``seed`` is not Base32, is too short, or ``at`` is not a usable time.
    """
    return _generator(_seed_text(seed), digits).at(_timestamp(at))


def consecutive_codes(seed: str | bytes, at: datetime | float | None = None) -> tuple[str, str]:
    """The two codes ``enable-mfa-device`` needs: ``AuthenticationCode1`` and ``AuthenticationCode2``.

    AWS asks for "an authentication code emitted by the device" and "a subsequent
    authentication code", and warns that codes submitted too late leave the device out
    of sync. So these are the codes of the 30-second window *before* ``at`` and of the
    window containing ``at`` — the two a person reads off an app by waiting for the code
    to change once — and both are valid at ``at``: submit them right away.

    Args:
        seed: the Base32 seed (see :func:`totp`).
        at: the moment the request is sent; None for now.

    Returns:
        ``(AuthenticationCode1, AuthenticationCode2)``, six digits each.

    Raises:
        MfaError: when ``seed`` is not Base32 or ``at`` is not a usable time.
    """
    generator = _generator(_seed_text(seed), 6)
    now = _timestamp(at)
    if now < STEP_SECONDS:
        raise MfaError(f"`{at}` is in the first 30-second window of 1970: it has no window before it",
                       "pass a later time")
    return generator.at(now - STEP_SECONDS), generator.at(now)


# ---------------------------------------------------------------------------
# QR codes
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class QrCode(RichDisplay):
    """A QR code as a PNG image that displays itself in Jupyter.

    The QR code of an MFA device holds its secret seed: clear a notebook's outputs before
    sharing it.

    Attributes:
        png: the PNG image.
        source: ``"AWS QRCodePNG"`` when AWS drew it, ``"segno"`` when iamkit did.
        svg: the same code as inline SVG, when iamkit drew it.
        label: what the code is for, shown as the image's alt text and in plain text.
    """

    png: bytes = field(repr=False)
    source: str
    svg: str | None = field(default=None, repr=False)
    label: str = "QR code"

    def __post_init__(self) -> None:
        if not isinstance(self.png, bytes) or not self.png.startswith(_PNG_SIGNATURE):
            raise MfaError("the QR code is not a PNG image",
                           "pass `QRCodePNG` as boto3 returns it: the PNG bytes, already Base64-decoded")

    @property
    def data_uri(self) -> str:
        """The PNG as a ``data:`` URI, for an ``<img src=...>``."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    def __repr__(self) -> str:
        return f"<QrCode {self.label} ({self.source} PNG, {len(self.png)} bytes)>"

    def _repr_png_(self) -> bytes:
        return self.png

    def _repr_html_(self) -> str:
        return (f'<figure class="iamkit-qr"><img src="{self.data_uri}" alt="{escape(self.label)}"/>'
                f"<figcaption>{escape(self.label)} (drawn by {escape(self.source)})</figcaption></figure>")

    def _representations(self) -> dict[str, Callable[[], str]]:
        return {
            "text/plain": lambda: f"{self.label}: a QR code drawn by {self.source} — it shows as an image in Jupyter",
            "text/html": self._repr_html_,
            "image/png": lambda: base64.b64encode(self.png).decode("ascii"),
        }


def render_qr(text: str, *, label: str = "QR code", scale: int = 4) -> QrCode:
    """Draw ``text`` (an ``otpauth://`` URI, say) as a QR code with segno.

    Args:
        text: what the code encodes.
        label: what the code is for (alt text and plain-text display).
        scale: pixels per module.

    Returns:
        The :class:`QrCode`, with PNG and inline SVG.
    """
    try:
        import segno
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise ImportError("drawing QR codes needs the `segno` package — hint: pip install 'iamkit[workbook]'") from err
    import io

    code = segno.make(text, error="m", micro=False)
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale)
    return QrCode(png=out.getvalue(), source="segno", svg=code.svg_inline(scale=scale), label=label)


# ---------------------------------------------------------------------------
# Virtual MFA devices
# ---------------------------------------------------------------------------

def _png_bytes(value: object) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):  # JSON output of the raw API: the blob still Base64-encoded
        try:
            value = base64.b64decode(value, validate=True)
        except binascii.Error:
            raise MfaError("`QRCodePNG` is text but not Base64",
                           "pass the create-virtual-mfa-device response as boto3 returns it") from None
    if not isinstance(value, (bytes, bytearray, memoryview)) or not bytes(value).startswith(_PNG_SIGNATURE):
        raise MfaError("`QRCodePNG` is not a PNG image",
                       "pass the create-virtual-mfa-device response as boto3 returns it")
    return bytes(value)


@dataclass(frozen=True)
class VirtualMfaDevice(RichDisplay):
    """A virtual MFA device as ``create-virtual-mfa-device`` returned it.

    The seed is normalised to upper-case Base32 and kept out of the repr: it is a secret.

    Attributes:
        serial_number: the device's ARN, ``arn:aws:iam::111122223333:mfa/alice``.
        seed: the Base32 seed (``Base32StringSeed``).
        qr_code_png: AWS's own QR code image (``QRCodePNG``), when the response had one.
        user_name: the IAM user the device belongs to, when the response said.
    """

    serial_number: str
    seed: str = field(repr=False)
    qr_code_png: bytes | None = field(default=None, repr=False)
    user_name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.serial_number, str) or not _VIRTUAL_SERIAL.fullmatch(self.serial_number):
            raise MfaError(f"`{self.serial_number}` is not the serial number of a virtual MFA device",
                           "virtual devices are named by ARN: `arn:aws:iam::111122223333:mfa/DEVICE-NAME`")
        object.__setattr__(self, "seed", _seed_text(self.seed))
        object.__setattr__(self, "qr_code_png", _png_bytes(self.qr_code_png))

    @classmethod
    def from_response(cls, response: Mapping[str, Any]) -> VirtualMfaDevice:
        """Build the device from a ``create_virtual_mfa_device`` response.

        Args:
            response: the whole response (``{"VirtualMFADevice": {...}}``) or the inner
                ``VirtualMFADevice`` structure, with ``SerialNumber`` and ``Base32StringSeed``
                (bytes as boto3 gives it, or text) and optionally ``QRCodePNG`` and ``User``.

        Returns:
            The device.

        Raises:
            MfaError: when the response lacks the serial number or the seed, or a value is
                malformed.
        """
        if not isinstance(response, Mapping):
            raise MfaError(f"a create-virtual-mfa-device response is a dict, not `{type(response).__name__}`")
        inner = response.get("VirtualMFADevice", response)
        if not isinstance(inner, Mapping) or "SerialNumber" not in inner:
            raise MfaError("the response has no `VirtualMFADevice.SerialNumber`",
                           "pass what `iam.create_virtual_mfa_device(...)` returned")
        if inner.get("Base32StringSeed") is None:
            raise MfaError("the response has no `Base32StringSeed`: codes cannot be computed without the seed",
                           "use the boto3 response, or the CLI's `--bootstrap-method Base32StringSeed` outfile")
        user = inner.get("User")
        user_name = user.get("UserName") if isinstance(user, Mapping) else None
        try:
            qr_code_png = _png_bytes(inner.get("QRCodePNG"))
        except MfaError:
            # The sandbox (moto) returns a placeholder, not AWS's image; the seed draws the same code.
            qr_code_png = None
        return cls(serial_number=inner["SerialNumber"], seed=inner["Base32StringSeed"],
                   qr_code_png=qr_code_png, user_name=user_name)

    @property
    def account(self) -> str:
        """The account that owns the device, from its ARN."""
        match = _VIRTUAL_SERIAL.fullmatch(self.serial_number)
        assert match is not None
        return match.group(1)

    @property
    def name(self) -> str:
        """The device's name, the ``--virtual-mfa-device-name`` it was created with."""
        match = _VIRTUAL_SERIAL.fullmatch(self.serial_number)
        assert match is not None
        return match.group(2)

    def code(self, at: datetime | float | None = None) -> str:
        """The code the device shows at ``at`` (None: now), for ``TokenCode`` in
        ``sts get-session-token`` or ``assume-role``."""
        return totp(self.seed, at)

    def codes(self, at: datetime | float | None = None) -> tuple[str, str]:
        """``(AuthenticationCode1, AuthenticationCode2)`` for ``enable-mfa-device``
        (see :func:`consecutive_codes`)."""
        return consecutive_codes(self.seed, at)

    def enable_params(self, user_name: str, at: datetime | float | None = None) -> dict[str, str]:
        """The parameters of ``iam.enable_mfa_device(**params)`` for ``user_name``, codes included.

        Send them at once: the codes expire within a minute.
        """
        code1, code2 = self.codes(at)
        return {"UserName": user_name, "SerialNumber": self.serial_number,
                "AuthenticationCode1": code1, "AuthenticationCode2": code2}

    def provisioning_uri(self, account_name: str | None = None, issuer: str | None = "AWS") -> str:
        """The ``otpauth://`` URI a QR code gives an authenticator app.

        AWS documents its QR code as encoding
        ``otpauth://totp/$virtualMFADeviceName@$AccountName?secret=$Base32String``, where
        ``AccountName`` is the user name if set, otherwise the account ID. ``issuer`` adds
        the Key URI format's issuer (the label prefix and the ``issuer`` parameter) that
        apps show as the entry's title; ``issuer=None`` gives exactly AWS's documented form.

        Args:
            account_name: the ``$AccountName`` part; None for the device's user name if
                known, else its account ID.
            issuer: the issuer apps display; None for none.

        Returns:
            The URI, such as ``otpauth://totp/AWS:alice@111122223333?secret=...&issuer=AWS``.
        """
        account_name = account_name or self.user_name or self.account
        label = quote(f"{self.name}@{account_name}", safe="@")
        query: dict[str, str] = {"secret": self.seed}
        if issuer:
            label = quote(issuer, safe="") + ":" + label
            query["issuer"] = issuer
        return f"otpauth://totp/{label}?{urlencode(query, quote_via=quote)}"

    def qr_image(self) -> QrCode:
        """The device's QR code: AWS's own ``QRCodePNG`` when it came with one, else drawn
        by segno from :meth:`provisioning_uri`. It holds the seed: keep it private."""
        label = f"QR code of virtual MFA device {self.name}"
        if self.qr_code_png is not None:
            return QrCode(png=self.qr_code_png, source="AWS QRCodePNG", label=label)
        return render_qr(self.provisioning_uri(), label=label)

    def __repr__(self) -> str:
        return f"<VirtualMfaDevice {self.serial_number}>"

    def _text(self) -> str:
        return (f"virtual MFA device {self.serial_number}: scan its QR code with an authenticator app, "
                "or call .codes() for the two consecutive codes enable-mfa-device needs")

    def _repr_html_(self) -> str:
        qr = self.qr_image()
        return (f'<div class="iamkit-mfa-device"><img src="{qr.data_uri}" alt="{escape(qr.label)}"/>'
                f"<p>Virtual MFA device <code>{escape(self.serial_number)}</code> (QR code drawn by "
                f"{escape(qr.source)}). Scan it with an authenticator app, or call <code>.codes()</code> for the "
                "two consecutive codes <code>enable-mfa-device</code> needs. The QR code holds the secret seed: "
                "clear this output before sharing the notebook.</p></div>")

    def _representations(self) -> dict[str, Callable[[], str]]:
        return {
            "text/plain": self._text,
            "text/html": self._repr_html_,
            "image/png": lambda: base64.b64encode(self.qr_image().png).decode("ascii"),
        }
