"""The ledger's keyring, read from settings (LEDGER_HMAC_KEY, _KEY_ID, _OLD_KEYS)."""

from django.conf import settings

from ledger.crypto import Keyring


def keyring() -> Keyring:
    return Keyring.from_strings(settings.LEDGER_SIGNING_KEY_ID, settings.LEDGER_HMAC_KEYS)
