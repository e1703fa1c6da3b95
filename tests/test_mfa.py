"""MFA: TOTP codes for virtual MFA devices, and requests evaluated with and without MFA.

Sources:
- RFC 6238 (TOTP), Appendix B test vectors: https://datatracker.ietf.org/doc/html/rfc6238#appendix-B
- RFC 4226 (HOTP) section 5.3, dynamic truncation: https://datatracker.ietf.org/doc/html/rfc4226#section-5.3
- VirtualMFADevice (the QR code's otpauth URI):
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_VirtualMFADevice.html
- EnableMFADevice (two consecutive codes): https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableMFADevice.html
- aws:MultiFactorAuthPresent and aws:MultiFactorAuthAge:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-multifactorauthpresent
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html
- The example policy: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_iam_mfa-selfmanage.html
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import struct
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from iamkit import IamkitError, Outcome, evaluate, validate_policy
from iamkit.account.mfa import MfaError, QrCode, VirtualMfaDevice, consecutive_codes, render_qr, totp
from iamkit.account.mfa_context import ENFORCE_MFA_POLICY, mfa_context

pyotp = pytest.importorskip("pyotp")

RFC_SEED = base64.b32encode(b"12345678901234567890").decode()
"""RFC 6238 Appendix B: the SHA1 seed is the ASCII string "12345678901234567890"."""

AWS_SEED = base64.b32encode(bytes(range(40))).decode()
"""A seed shaped like AWS's: 40 random bytes, 64 Base32 characters."""

SERIAL = "arn:aws:iam::111122223333:mfa/alice"
ALICE = "arn:aws:iam::111122223333:user/alice"

# RFC 6238 Appendix B, the SHA1 rows: Unix time, UTC time, 8-digit TOTP.
RFC_VECTORS = [
    (59, "1970-01-01 00:00:59", "94287082"),
    (1111111109, "2005-03-18 01:58:29", "07081804"),
    (1111111111, "2005-03-18 01:58:31", "14050471"),
    (1234567890, "2009-02-13 23:31:30", "89005924"),
    (2000000000, "2033-05-18 03:33:20", "69279037"),
    (20000000000, "2603-10-11 11:33:20", "65353130"),
]


def reference_totp(key: bytes, unix_time: int, digits: int) -> str:
    """RFC 6238 written out with the standard library, independent of pyotp.

    T = floor(time / 30); HOTP(K, T) = Truncate(HMAC-SHA-1(K, T)) mod 10^digits (RFC 4226 §5.3).
    """
    mac = hmac.new(key, struct.pack(">Q", unix_time // 30), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    binary = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


# --- RFC 6238 ---------------------------------------------------------------------------


@pytest.mark.parametrize(("unix_time", "utc", "expected"), RFC_VECTORS)
def test_rfc6238_appendix_b_vectors_with_8_digits(unix_time: int, utc: str, expected: str) -> None:
    assert pyotp.TOTP(RFC_SEED, digits=8).at(unix_time) == expected  # the library itself
    assert totp(RFC_SEED, unix_time, digits=8) == expected
    assert reference_totp(b"12345678901234567890", unix_time, 8) == expected
    # The RFC's UTC column: aware datetimes, and naive ones taken as UTC.
    when = datetime.strptime(utc, "%Y-%m-%d %H:%M:%S")
    assert totp(RFC_SEED, when.replace(tzinfo=timezone.utc), digits=8) == expected
    assert totp(RFC_SEED, when, digits=8) == expected


@pytest.mark.parametrize(("unix_time", "utc", "expected"), RFC_VECTORS)
def test_six_digit_codes_match_pyotp_and_the_reference(unix_time: int, utc: str, expected: str) -> None:
    code = totp(RFC_SEED, unix_time)
    assert len(code) == 6 and code.isdigit()
    assert code == pyotp.TOTP(RFC_SEED).at(unix_time)
    assert code == reference_totp(b"12345678901234567890", unix_time, 6)


def test_aws_shaped_seed_codes_across_a_day_match_the_reference() -> None:
    key = base64.b32decode(AWS_SEED)
    for t in range(1_700_000_000, 1_700_086_400, 997):
        assert totp(AWS_SEED, t) == reference_totp(key, t, 6)


def test_seed_forms_boto3_bytes_cli_text_and_app_groups_give_the_same_code() -> None:
    expected = totp(AWS_SEED, 1234567890)
    grouped = " ".join(AWS_SEED.lower()[i:i + 4] for i in range(0, 64, 4))
    for seed in (AWS_SEED.encode(), bytearray(AWS_SEED.encode()), AWS_SEED + "\n", grouped):
        assert totp(seed, 1234567890) == expected
    # Padding is optional.
    assert totp(RFC_SEED, 59) == totp(RFC_SEED.rstrip("=") + "====", 59)


def test_times_as_seconds_floats_and_datetimes_agree_within_a_window() -> None:
    start = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
    code = totp(AWS_SEED, start)
    assert code == totp(AWS_SEED, start.timestamp()) == totp(AWS_SEED, start.timestamp() + 29.9)
    assert code == totp(AWS_SEED, start.astimezone(timezone(timedelta(hours=-7))))  # same instant
    assert code != totp(AWS_SEED, start + timedelta(seconds=30))
    now = totp(AWS_SEED)
    assert len(now) == 6 and now.isdigit()


# --- consecutive codes for enable-mfa-device ---------------------------------------------


def test_consecutive_codes_are_the_previous_and_the_current_window() -> None:
    at = 1_700_000_015
    code1, code2 = consecutive_codes(AWS_SEED, at)
    assert (code1, code2) == (totp(AWS_SEED, at - 30), totp(AWS_SEED, at))
    assert code1 != code2
    # Both are codes a verifier accepts at `at` (one step of clock drift, as servers allow).
    verifier = pyotp.TOTP(AWS_SEED)
    assert verifier.verify(code2, for_time=at)
    assert verifier.verify(code1, for_time=at, valid_window=1)
    assert all(len(c) == 6 and c.isdigit() for c in consecutive_codes(AWS_SEED.encode()))


def test_device_gives_enable_mfa_device_its_parameters() -> None:
    device = VirtualMfaDevice(SERIAL, AWS_SEED)
    at = 1_700_000_015
    assert device.codes(at) == consecutive_codes(AWS_SEED, at)
    assert device.code(at) == totp(AWS_SEED, at)
    assert device.enable_params("alice", at) == {
        "UserName": "alice", "SerialNumber": SERIAL,
        "AuthenticationCode1": totp(AWS_SEED, at - 30), "AuthenticationCode2": totp(AWS_SEED, at),
    }


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(("seed", "message"), [
    ("", "the seed is empty"),
    ("JBSWY3DPEHPK3PX1" * 4, "the seed is not Base32: character 16 is `1`"),
    (base64.b64encode(bytes(range(40))).decode(), "the seed is not Base32"),
    (bytes(range(200, 240)), "not ASCII"),
    (AWS_SEED[:-1] + "A" * 2, "no Base32 text is 65 characters long"),
    ("JBSWY3DPEHPK3PXP", "too short for TOTP: 80 bits, at least 112 needed"),
    (12345, "not `int`"),
])
def test_bad_seeds_raise_mfa_error_with_a_hint_and_without_the_secret(seed: Any, message: str) -> None:
    with pytest.raises(MfaError) as info:
        totp(seed, 0)
    err = info.value
    assert isinstance(err, IamkitError) and isinstance(err, ValueError)
    assert message in err.message
    assert err.hint and f"— hint: {err.hint}" in str(err)
    if isinstance(seed, str) and len(seed) > 8:
        assert seed not in str(err)


@pytest.mark.parametrize("at", [-1, float("nan"), float("inf"), 253402300800, True, "now"])
def test_bad_times_raise_mfa_error(at: Any) -> None:
    with pytest.raises(MfaError):
        totp(AWS_SEED, at)


def test_no_window_before_the_first_one_and_no_odd_code_lengths() -> None:
    with pytest.raises(MfaError, match="no window before it"):
        consecutive_codes(AWS_SEED, 29)
    with pytest.raises(MfaError, match="not a TOTP code length"):
        totp(AWS_SEED, 0, digits=4)


# --- the device and its QR code -----------------------------------------------------------


def _parsed_create_response(seed: str, qr_png: bytes | None = None) -> dict[str, Any]:
    """A CreateVirtualMFADevice response as botocore parses AWS's XML: the blobs arrive
    Base64-encoded and come out as bytes."""
    botocore_session = pytest.importorskip("botocore.session")
    from botocore.parsers import QueryParser

    op = botocore_session.get_session().get_service_model("iam").operation_model("CreateVirtualMFADevice")
    qr = f"<QRCodePNG>{base64.b64encode(qr_png).decode()}</QRCodePNG>" if qr_png else ""
    body = (
        '<CreateVirtualMFADeviceResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        "<CreateVirtualMFADeviceResult><VirtualMFADevice>"
        f"<SerialNumber>{SERIAL}</SerialNumber>"
        f"<Base32StringSeed>{base64.b64encode(seed.encode()).decode()}</Base32StringSeed>{qr}"
        "</VirtualMFADevice></CreateVirtualMFADeviceResult>"
        "<ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata>"
        "</CreateVirtualMFADeviceResponse>"
    )
    return QueryParser().parse({"body": body.encode(), "headers": {}, "status_code": 200}, op.output_shape)


def test_from_boto3_response_reads_the_seed_bytes() -> None:
    response = _parsed_create_response(AWS_SEED)
    assert isinstance(response["VirtualMFADevice"]["Base32StringSeed"], bytes)
    device = VirtualMfaDevice.from_response(response)
    assert (device.serial_number, device.seed, device.qr_code_png) == (SERIAL, AWS_SEED, None)
    assert (device.account, device.name) == ("111122223333", "alice")
    assert device.code(59) == totp(AWS_SEED, 59)
    # The inner structure, and text seeds, work too.
    inner = {"SerialNumber": SERIAL, "Base32StringSeed": AWS_SEED.lower(), "User": {"UserName": "alice"}}
    assert VirtualMfaDevice.from_response(inner) == VirtualMfaDevice(SERIAL, AWS_SEED, user_name="alice")


def test_repr_keeps_the_seed_secret() -> None:
    device = VirtualMfaDevice(SERIAL, AWS_SEED)
    assert repr(device) == f"<VirtualMfaDevice {SERIAL}>"
    assert AWS_SEED not in repr(device) and AWS_SEED not in device._repr_mimebundle_()["text/plain"]


@pytest.mark.parametrize(("response", "message"), [
    ({"VirtualMFADevice": {"SerialNumber": SERIAL}}, "no `Base32StringSeed`"),
    ({"VirtualMFADevice": {"Base32StringSeed": AWS_SEED}}, "no `VirtualMFADevice.SerialNumber`"),
    ({"SerialNumber": "GAHT12345678", "Base32StringSeed": AWS_SEED}, "not the serial number of a virtual MFA device"),
])
def test_from_response_rejects_incomplete_responses(response: dict[str, Any], message: str) -> None:
    with pytest.raises(MfaError, match=message) as info:
        VirtualMfaDevice.from_response(response)
    assert info.value.hint


def test_provisioning_uri_follows_aws_documented_format() -> None:
    # "otpauth://totp/$virtualMFADeviceName@$AccountName?secret=$Base32String where ... AccountName
    # is the user name if set (otherwise, the account ID otherwise)" — API_VirtualMFADevice.html
    device = VirtualMfaDevice("arn:aws:iam::111122223333:mfa/team/alice-phone", AWS_SEED)
    assert device.name == "alice-phone"
    assert device.provisioning_uri(issuer=None) == f"otpauth://totp/alice-phone@111122223333?secret={AWS_SEED}"
    assert device.provisioning_uri("alice") == f"otpauth://totp/AWS:alice-phone@alice?secret={AWS_SEED}&issuer=AWS"
    assert device.provisioning_uri("alice", issuer="Amazon Web Services") == (
        f"otpauth://totp/Amazon%20Web%20Services:alice-phone@alice?secret={AWS_SEED}&issuer=Amazon%20Web%20Services")
    # An authenticator app reading the URI computes the same codes.
    assert pyotp.parse_uri(device.provisioning_uri("alice")).at(1234567890) == device.code(1234567890)


def test_qr_code_is_drawn_by_segno_when_aws_sent_none() -> None:
    pytest.importorskip("segno")
    device = VirtualMfaDevice(SERIAL, AWS_SEED)
    qr = device.qr_image()
    assert qr.source == "segno" and qr.png.startswith(b"\x89PNG\r\n\x1a\n")
    assert qr.svg is not None and qr.svg.startswith("<svg")
    assert qr == render_qr(device.provisioning_uri(), label=qr.label)  # deterministic
    bundle = device._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", "image/png"}
    assert base64.b64decode(bundle["image/png"]) == qr.png
    assert f'<img src="{qr.data_uri}"' in bundle["text/html"] and SERIAL in bundle["text/html"]
    assert "enable-mfa-device" in bundle["text/plain"]
    assert device._repr_mimebundle_(include=["image/png"]).keys() == {"image/png"}
    assert device._repr_mimebundle_(exclude=["text/html"]).keys() == {"text/plain", "image/png"}


def test_aws_qr_code_png_is_shown_as_it_came() -> None:
    pytest.importorskip("segno")
    aws_png = render_qr(f"otpauth://totp/alice@111122223333?secret={AWS_SEED}").png  # stands in for AWS's image
    device = VirtualMfaDevice.from_response(_parsed_create_response(AWS_SEED, aws_png))
    assert device.qr_code_png == aws_png
    qr = device.qr_image()
    assert (qr.source, qr.png, qr.svg) == ("AWS QRCodePNG", aws_png, None)
    assert base64.b64decode(device._repr_mimebundle_()["image/png"]) == aws_png
    assert qr._repr_png_() == aws_png and "AWS QRCodePNG" in qr._repr_html_()
    assert repr(qr).startswith("<QrCode QR code of virtual MFA device alice (AWS QRCodePNG PNG")
    # A JSON response keeps the blob Base64-encoded: decoded here too.
    text = {"SerialNumber": SERIAL, "Base32StringSeed": AWS_SEED, "QRCodePNG": base64.b64encode(aws_png).decode()}
    assert VirtualMfaDevice.from_response(text).qr_code_png == aws_png
    with pytest.raises(MfaError, match="not a PNG"):
        QrCode(png=b"not a png", source="test")


# --- MFA in the request context -----------------------------------------------------------


def test_mfa_context_sets_what_aws_sets() -> None:
    assert mfa_context(True, 300) == {"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "300"}
    assert mfa_context(True) == {"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "0"}
    # Temporary credentials without MFA (a console sign-in without MFA): the key is "false".
    assert mfa_context(False) == {"aws:MultiFactorAuthPresent": "false"}
    # "The aws:MultiFactorAuthPresent key is not present when an API or CLI command is called
    # with long-term credentials, such as user access key pairs." — reference_policies_condition-keys.html
    assert mfa_context(False, long_term_keys=True) == {}


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    ((True,), {"long_term_keys": True}, "never carry MFA"),
    ((False, 60), {}, "not present when MFA was not used"),
    ((False, 60), {"long_term_keys": True}, "not present for long-term access keys"),
    ((True, -1), {}, "not an MFA age"),
    ((True, 1.5), {}, "not an MFA age"),
    (("yes",), {}, "must be True or False"),
])
def test_mfa_context_refuses_what_aws_never_sends(args: tuple[Any, ...], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(MfaError, match=message):
        mfa_context(*args, **kwargs)


# --- AWS's example policy, evaluated ------------------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_iam_mfa-selfmanage.html
# "If an IAM user with this policy is not MFA-authenticated, this policy denies access to all AWS
# actions except those necessary to authenticate using MFA."

S3_READ = {"Version": "2012-10-17", "Statement": [
    {"Sid": "ReadReports", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/*"}]}
REPORT = "arn:aws:s3:::amzn-s3-demo-bucket/report.csv"


def ask(action: str, resource: str, context: dict[str, str], policy: dict[str, Any] = ENFORCE_MFA_POLICY) -> Any:
    return evaluate({
        "id": "mfa",
        "request": {"principal": ALICE, "action": action, "resource": resource, "context": context},
        "identityPolicies": [policy, S3_READ],
    })


def sids(decision: Any) -> list[str | None]:
    return [t.sid for t in decision.determining]


def test_enforce_mfa_policy_is_valid() -> None:
    assert validate_policy(ENFORCE_MFA_POLICY) == []


def test_with_mfa_other_policies_apply() -> None:
    decision = ask("s3:GetObject", REPORT, mfa_context(True, 300))
    assert decision.outcome is Outcome.ALLOWED and sids(decision) == ["ReadReports"]


def test_without_mfa_the_deny_blocks_everything_else() -> None:
    decision = ask("s3:GetObject", REPORT, mfa_context(False))
    assert decision.outcome is Outcome.EXPLICIT_DENY
    assert sids(decision) == ["BlockMostAccessUnlessSignedInWithMFA"]


def test_with_long_term_keys_the_key_is_absent_and_bool_if_exists_still_denies() -> None:
    decision = ask("s3:GetObject", REPORT, mfa_context(False, long_term_keys=True))
    assert decision.outcome is Outcome.EXPLICIT_DENY
    assert sids(decision) == ["BlockMostAccessUnlessSignedInWithMFA"]
    (condition,) = decision.determining[0].conditions
    assert (condition.key, condition.missing, condition.result) == ("aws:MultiFactorAuthPresent", True, True)
    assert "aws:MultiFactorAuthPresent" in decision.missing_context_keys


def test_with_plain_bool_long_term_keys_slip_through() -> None:
    # AWS: `"Bool": {"aws:MultiFactorAuthPresent": "false"}` in a Deny is "NOT RECOMMENDED": it
    # "does not deny access to requests that are made using long-term credentials".
    weak = copy.deepcopy(ENFORCE_MFA_POLICY)
    weak["Statement"][-1]["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "false"}}
    assert ask("s3:GetObject", REPORT, mfa_context(False, long_term_keys=True), weak).outcome is Outcome.ALLOWED
    assert ask("s3:GetObject", REPORT, mfa_context(False), weak).outcome is Outcome.EXPLICIT_DENY


@pytest.mark.parametrize("context", [mfa_context(False), mfa_context(False, long_term_keys=True)])
def test_managing_your_own_mfa_is_allowed_without_mfa(context: dict[str, str]) -> None:
    enable = ask("iam:EnableMFADevice", ALICE, context)
    assert enable.outcome is Outcome.ALLOWED and sids(enable) == ["AllowUserToManageTheirOwnMFA"]
    create = ask("iam:CreateVirtualMFADevice", SERIAL, context)
    assert create.outcome is Outcome.ALLOWED and sids(create) == ["AllowUserToCreateVirtualMFADevice"]
    # Only your own user: ${aws:username} is alice.
    assert ask("iam:EnableMFADevice", "arn:aws:iam::111122223333:user/bob", context).outcome is Outcome.IMPLICIT_DENY


def test_deactivating_mfa_and_reading_the_device_need_mfa() -> None:
    without = ask("iam:DeactivateMFADevice", ALICE, mfa_context(False))
    assert without.outcome is Outcome.EXPLICIT_DENY and sids(without) == ["BlockMostAccessUnlessSignedInWithMFA"]
    with_mfa = ask("iam:DeactivateMFADevice", ALICE, mfa_context(True, 60))
    assert with_mfa.outcome is Outcome.ALLOWED and sids(with_mfa) == ["AllowUserToDeactivateTheirOwnMFAOnlyWhenUsingMFA"]
    # iam:GetMFADevice is allowed, but not exempted from the Deny: the Deny wins.
    get = ask("iam:GetMFADevice", ALICE, mfa_context(False))
    assert get.outcome is Outcome.EXPLICIT_DENY
    assert ask("iam:GetMFADevice", ALICE, mfa_context(True)).outcome is Outcome.ALLOWED


def test_a_placeholder_qr_code_from_the_sandbox_is_redrawn_from_the_seed() -> None:
    """moto answers create-virtual-mfa-device with a QRCodePNG that is not a PNG image."""
    from iamkit.account.mfa import VirtualMfaDevice

    device = VirtualMfaDevice.from_response({"VirtualMFADevice": {
        "SerialNumber": SERIAL, "Base32StringSeed": AWS_SEED, "QRCodePNG": b"GIF89a"}})
    assert device.qr_code_png is None and device.qr_image().source == "segno"
