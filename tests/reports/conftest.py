"""The reports' tests use the residents' users, resident and gate."""

from tests.residents.conftest import (  # noqa: F401
    guard,
    main_gate,
    make_user,
    resident,
    superuser,
    warden,
)
