"""Two Saisei installations on loopback (issue 17 item 4, decision 0030): the facilitator's is
this test process (Django's live server); the clinic's is a second process, ``saisei serve`` on
its own SQLite database under tmp, with its own key. A referral goes out, a quote comes back,
the family accepts it, and a revocation ends the clinic's access, each a signed message."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from saisei.network import exchange, peering, selectors, services
from saisei.network.models import PeerMessage, Share

from .conftest import consent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ClinicInstallation:
    def __init__(self, tmp: Path) -> None:
        key = Ed25519PrivateKey.generate()
        seed = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        self.identity = peering.Identity(key)
        self.port = _free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "saisei.network.tests.peer_settings",
            "SAISEI_DATA_DIR": str(tmp / "clinic"),
            "SAISEI_TESTING": "1",
            "SAISEI_PEER_KEY": base64.urlsafe_b64encode(seed).decode().rstrip("="),
            "DATABASE_URL": f"sqlite:///{tmp / 'clinic' / 'saisei.sqlite3'}",
        }
        self.env.pop("SAISEI_BASE_URL", None)
        (tmp / "clinic").mkdir()
        self.server: subprocess.Popen[bytes] | None = None
        self.log = tmp / "clinic-server.log"

    def run(self, step: str, **args: Any) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, "-m", "saisei.network.tests.peer_side", step, json.dumps(args)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))

    def inbox(self, slug: str) -> str:
        return f"http://127.0.0.1:{self.port}/network/peer/{slug}/inbox/"

    def start(self) -> None:
        self.server = subprocess.Popen(
            [sys.executable, "-m", "saisei.cli", "serve", "--bind", f"127.0.0.1:{self.port}"],
            env=self.env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.inbox("clinic-a"), timeout=2)
            except urllib.error.HTTPError:
                return  # 405 to a GET: the server answers
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        raise AssertionError(self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=20)


@pytest.fixture
def clinic_installation(tmp_path: Path) -> Any:
    inst = ClinicInstallation(tmp_path)
    yield inst
    inst.stop()


def test_referral_quote_acceptance_and_revocation_between_two_installations(
    net: dict[str, Any], live_server: Any, clinic_installation: Any, settings: Any, tmp_path: Path
) -> None:
    settings.SAISEI_PEER_KEY_FILE = tmp_path / "facilitator-peer.key"
    me = peering.identity()
    clinic = clinic_installation
    # The clinic trusts the facilitator's installation and records the same agreement.
    clinic.run(
        "setup",
        peer_id=me.id,
        public_key=me.public_key,
        inbox_url=f"{live_server.url}/network/peer/bridge/inbox/",
        agreement="AG-a",
    )
    clinic.start()
    # The facilitator trusts the clinic's installation for its partner "Clinic A".
    exchange.peer_add(
        organisation=net["fac"],
        stands_for=net["a"]["org"],
        peer_id=clinic.identity.id,
        inbox_url=clinic.inbox("clinic-a"),
        public_key=clinic.identity.public_key,
    )

    # 1. Referral: exactly the consented fields travel, signed; the clinic has it in its queue.
    c = consent(net, "a", fields=["patient_date_of_birth", "diagnosis"])
    share = services.share_create(actor=net["coord"], referral=net["referral"], consent=c)
    sent = PeerMessage.objects.get(direction="out", type="referral")
    assert sent.status == PeerMessage.Status.DELIVERED, sent.last_error

    # 2. Quote: the clinic answers in its own installation; the quote comes back signed.
    answer = clinic.run("quote", share=str(share.external_id))
    assert answer["seen"] == ["diagnosis", "patient_date_of_birth"]
    share.refresh_from_db()
    assert share.status == Share.Status.QUOTED
    [row] = selectors.comparison(referral=net["referral"])
    assert row.total_jpy == answer["total_jpy"]
    assert row.commission_jpy > 0 and row.plan_number == "PB3260001" and row.plan_in_force

    # 3. Acceptance: the family accepts in the facilitator's portal; the clinic's quote is
    # accepted in its own records.
    services.comparison_accept(
        referral=net["referral"],
        share=share,
        accepted_by_name="王 芳",
        agree=True,
        portal_access=net["access"],
    )
    msg = PeerMessage.objects.get(direction="out", type="acceptance")
    assert msg.status == PeerMessage.Status.DELIVERED, msg.last_error
    seen = clinic.run("state", share=str(share.external_id))
    assert seen["status"] == "accepted" and seen["quote_status"] == "accepted"
    assert seen["visible"] and seen["out"] == ["quote:delivered"]

    # 4. Revocation: the facilitator ends the share; the clinic no longer sees the referral.
    services.share_revoke(actor=net["coord"], share=share, reason="The family asked us to.")
    msg = PeerMessage.objects.get(direction="out", type="revocation")
    assert msg.status == PeerMessage.Status.DELIVERED, msg.last_error
    seen = clinic.run("state", share=str(share.external_id))
    assert not seen["visible"]

    # 5. A replay of the referral is refused by the clinic (409) and recorded there.
    req = urllib.request.Request(
        clinic.inbox("clinic-a"),
        data=json.dumps(sent.body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=15)
    assert refused.value.code == 409
    assert clinic.run("state", share=str(share.external_id))["refused"] == 1
