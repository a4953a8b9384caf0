"""Twilio's request signature, checked against the examples Twilio publishes for it."""

from hypothesis import given
from hypothesis import strategies as st

from notifier.twilio_signature import signed_by_twilio, twilio_signature

AUTH_TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
CALL = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}


def test_twilios_documented_example() -> None:
    assert twilio_signature(AUTH_TOKEN, URL, CALL.items()) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_twilios_older_documented_example() -> None:
    params = {**CALL, "Caller": "+12349013030", "From": "+12349013030"}
    assert twilio_signature(AUTH_TOKEN, URL, params.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_a_repeated_parameter_is_signed_in_the_order_of_its_values() -> None:
    params = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert twilio_signature(AUTH_TOKEN, URL, params) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_only_the_same_url_params_and_token_pass() -> None:
    signature = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert signed_by_twilio(AUTH_TOKEN, URL, CALL.items(), signature)
    assert not signed_by_twilio("54321", URL, CALL.items(), signature)
    assert not signed_by_twilio(AUTH_TOKEN, URL + "&x=1", CALL.items(), signature)
    assert not signed_by_twilio(AUTH_TOKEN, URL, {**CALL, "Digits": "1"}.items(), signature)
    assert not signed_by_twilio(AUTH_TOKEN, URL, CALL.items(), "")


@given(st.dictionaries(st.text(min_size=1), st.text()))
def test_the_order_parameters_arrive_in_does_not_matter(params: dict[str, str]) -> None:
    forward = twilio_signature(AUTH_TOKEN, URL, params.items())
    assert twilio_signature(AUTH_TOKEN, URL, reversed(params.items())) == forward
