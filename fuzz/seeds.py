#!/usr/bin/env python3
"""Writes seed inputs for the fuzz targets into fuzz/corpus/TARGET/, from the test fixtures.

Each input is one byte that picks the target's configuration, then text (see each target).
Run from the repository root or from fuzz/: python3 fuzz/seeds.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures", "parse-logs")
CORPUS = os.path.join(HERE, "corpus")


def put(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# parse_logs: the configuration indices of fuzz_targets/parse_logs.rs that read each fixture.
FILES = {
    "aegis-services.log": [0, 1, 2, 3, 4, 5],
    "logfmt.log": [6, 7],
    "nginx.log": [10],
    "apache.log": [11],
    "syslog-rfc5424.log": [12],
    "syslog-rfc3164.log": [13],
    "klog.log": [14],
    "cri-first.log": [15, 16, 17],
    "cri-second.log": [15, 16],
}
for name, configs in FILES.items():
    with open(os.path.join(FIXTURES, name), "rb") as f:
        lines = f.read().split(b"\n")
    for config in configs:
        for k in range(0, len(lines), 4):
            put("parse_logs", f"{name}-{config}-{k}", bytes([config]) + b"\n".join(lines[k : k + 4])[:4000])
put("parse_logs", "regex-8", bytes([8]) + b"2024-01-25 14:30:45.123 INFO [db] connected\n2024-01-25 14:30:45 SEVERE [x] boom")
put("parse_logs", "regex-9", bytes([9]) + b"4bf92f3577b34da6-00f067aa0ba902b7-aegis-backend")

# redact: value, key and another value, separated by \x01.
PII = [
    b"user alice@example.com paid with 4111 1111 1111 1111 from 10.0.0.1\x01api_key\x01"
    b"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc",
    b"AKIAIOSFODNN7EXAMPLE 2001:db8::1 fe80::1%eth0 order 1234567890123\x01user.email\x01bob@corp.io",
    b'{"password":"hunter2","card":"5500-0000-0000-0004"}\x01authorization\x01Basic abc==',
]
for config in range(5):
    for i, text in enumerate(PII):
        put("redact", f"pii-{config}-{i}", bytes([config]) + text)

# conditions: a condition's text.
CONDITIONS = [
    b"severity >= ERROR",
    b'attributes["http.route"] == "/api/v1/users" and not (body contains "ok")',
    b"duration > 1s or status == ERROR",
    b'name matches "^db\\\\." and kind == SERVER',
    b'resource.attributes["service.name"] in ["aegis-backend", "x"]',
    b'attributes["n"] >= 40 and trace_id == "abababababababababababababababab"',
    b'name == "db.connections" and type == gauge',
    b'unit == "ms" or scope.name == "fuzz" and scope.version != "2"',
    b'attributes["user_id"] matches "^u-" and type == histogram',
]
for config in range(8):
    for i, text in enumerate(CONDITIONS):
        put("conditions", f"c-{config}-{i}", bytes([config]) + text)

# sample: a trace state, a user id and a trace id's bytes, separated by \x01.
STATES = [
    b"ot=th:8;rv:abcdef01234567,congo=t61rcWkgMzE\x01u-1\x014bf92f3577b34da6a3ce929d0e0e4736",
    b"ot=th:zz;p:1\x01\x01",
    b"vendor=a,ot=rv:00000000000001;th:0\x01u\x010123456789abcdef0123",
]
for config in range(7):
    for i, text in enumerate(STATES):
        put("sample", f"s-{config}-{i}", bytes([config]) + text)

# attributes: a key, a value and another value, separated by \x01; the first byte picks the
# action (mod 6) and the signal (div 6 mod 3: logs, traces, metrics).
for config in range(18):
    put("attributes", f"a-{config}", bytes([config]) + b"http.request.line\x01GET /api/v1/users?x=1 HTTP/1.1\x01other")

# redact_secrets: the text before and after the planted secret, separated by \x01; the first
# byte picks the secret (mod 11). Text around that is like a secret, or glued to punctuation.
AROUND = [
    b"user logged in from\x01with session ok",
    b'{"msg":"token is\x01","user":"bob@corp.io"}',
    b"Authorization: Bearer\x01; retry=3 card 4111-1111-1111-1111x",
    b"addr=10.0.0.1,\x01,next=2001:db8::1%",
    b"AKIA\x01EXAMPLE eyJ.eyJ. 5500 0000 0000 0004",
    b"caf\xc3\xa9 \xe2\x80\x94\x01\xe2\x80\x94 \xf0\x9f\x94\x91 ::ffff:1.2.3.4",
]
for secret in range(11):
    for i, text in enumerate(AROUND):
        put("redact_secrets", f"r-{secret}-{i}", bytes([secret]) + text)
