#!/usr/bin/env python3
"""Creates (or replaces) a SASL/SCRAM user on a Kafka broker through the Kafka API
(AlterUserScramCredentials, KIP-554), with confluent-kafka as an outside client.

    kafka-scram-user.py BROKERS USER PASSWORD_FILE [SCRAM-SHA-256|SCRAM-SHA-512]

Used by crates/cli/tests/kafka_sasl.rs against a private Tansu broker (started without
--authentication for this step). Exit 0 when the broker accepted the credential.
"""
import sys

try:
    from confluent_kafka.admin import (
        AdminClient,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialUpsertion,
    )
except ImportError:
    sys.exit("kafka-scram-user: needs confluent-kafka (pip install confluent-kafka==2.16.1; "
             "scripts/test.sh installs it)")


def main() -> None:
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    brokers, user, password_file = sys.argv[1:4]
    mechanism = sys.argv[4] if len(sys.argv) == 5 else "SCRAM-SHA-256"
    password = open(password_file, encoding="utf-8").read().strip().encode()
    kind = {
        "SCRAM-SHA-256": ScramMechanism.SCRAM_SHA_256,
        "SCRAM-SHA-512": ScramMechanism.SCRAM_SHA_512,
    }[mechanism]
    admin = AdminClient({"bootstrap.servers": brokers})
    upsert = UserScramCredentialUpsertion(user, ScramCredentialInfo(kind, 4096), password)
    for name, future in admin.alter_user_scram_credentials([upsert]).items():
        future.result(timeout=30)
        print(f"kafka-scram-user: {mechanism} credential of {name} stored")


if __name__ == "__main__":
    main()
