"""Pushes a model to Caravan with the real Acumos Python client (acumos 1.0.1): the credentials
come from ACUMOS_TOKEN (`<username>:<API token>`) or ACUMOS_USERNAME / ACUMOS_PASSWORD, which
the client trades for a session at the auth API. Prints the dockerImageUri push() returns.

usage: acumos_client_push.py BASE_URL MODEL_NAME
"""
import sys

from acumos.modeling import Model
from acumos.session import AcumosSession, Options

base, name = sys.argv[1:3]


def add(x: int, y: int) -> int:
    """Returns the sum of x and y"""
    return x + y


session = AcumosSession(
    push_api=f"{base}/onboarding-app/v2/models",
    auth_api=f"{base}/onboarding-app/v2/auth",
)
uri = session.push(Model(add=add), name, options=Options(license="Apache-2.0", create_microservice=True))
print(f"dockerImageUri={uri}")
