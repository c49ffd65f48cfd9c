"""Safe targets: production refuses private, loopback, link-local and metadata addresses, on save and at connect
time (DNS rebinding), and plain http."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import sending, targets
from events.services import EndpointError, endpoint_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_rules(settings):
    settings.EVENTS_ALLOW_PRIVATE_TARGETS = False
    settings.EVENTS_REQUIRE_HTTPS = True


@pytest.fixture
def dns(monkeypatch):
    answers: dict[str, list[str]] = {}
    monkeypatch.setattr(targets, "resolve", lambda host, port: answers.get(host) or [host])
    return answers


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://172.16.0.1/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "http://hooks.example.com/hook",
        "https://user:pw@hooks.example.com/hook",
    ],
)
def test_production_refuses_unsafe_targets_on_save(production_rules, dns, organization, url):
    dns["localhost"] = ["127.0.0.1"]
    dns["hooks.example.com"] = ["93.184.215.14"]
    with pytest.raises(EndpointError):
        endpoint_create(organization=organization, url=url)


def test_production_accepts_a_public_https_host(production_rules, dns, organization):
    dns["hooks.example.com"] = ["93.184.215.14"]
    endpoint, _secret = endpoint_create(organization=organization, url="https://hooks.example.com/saldo")
    assert endpoint.pk


def test_a_host_with_one_private_address_among_public_ones_is_refused(production_rules, dns, organization):
    dns["mixed.example.com"] = ["93.184.215.14", "10.0.0.5"]
    with pytest.raises(EndpointError):
        endpoint_create(organization=organization, url="https://mixed.example.com/hook")


def test_dns_rebinding_after_save_is_refused_at_connect_time(production_rules, dns, organization, monkeypatch):
    dns["rebind.example.com"] = ["93.184.215.14"]
    endpoint_create(organization=organization, url="https://rebind.example.com/hook")
    dns["rebind.example.com"] = ["169.254.169.254"]  # the attacker's DNS now answers the metadata address

    def no_connect(*args, **kwargs):
        raise AssertionError("must not connect")

    monkeypatch.setattr(sending, "client", no_connect)
    result = sending.send(url="https://rebind.example.com/hook", body="{}", headers={})
    assert not result.succeeded and result.error.startswith("refused")


def test_the_connection_goes_to_the_checked_address_with_the_hosts_name(production_rules, dns, monkeypatch):
    dns["hooks.example.com"] = ["93.184.215.14"]
    seen = {}

    class FakeClient:
        def build_request(self, method, url, **kwargs):
            seen.update(url=url, **kwargs)
            raise sending.httpx.ConnectError("stop here")

    monkeypatch.setattr(sending, "client", lambda: FakeClient())
    sending.send(url="https://hooks.example.com/saldo?a=1", body="{}", headers={})
    assert seen["url"] == "https://93.184.215.14:443/saldo?a=1"
    assert seen["headers"]["host"] == "hooks.example.com"
    assert seen["extensions"] == {"sni_hostname": "hooks.example.com"}


@given(st.ip_addresses())
def test_is_public_address_agrees_with_the_ipaddress_module(address):
    public = targets.is_public_address(str(address))
    if public:
        assert address.is_global and not address.is_private and not address.is_loopback
    if address.is_loopback or address.is_private or address.is_link_local:
        assert not public
