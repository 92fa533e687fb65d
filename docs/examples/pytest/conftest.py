"""pytest fixtures for testing an agent against ospbox (spec/control.md).

One ospbox per test session (`serve --ephemeral --ready json`: a throwaway workspace, its
address on one JSON line), one namespace per test (an isolated sandbox with its own state,
clock and request journal, deleted after the test). Only the standard library is used.

Point OSPBOX_BIN at the ospbox binary (make test does), or put ospbox on PATH.
"""
import json
import os
import subprocess
import urllib.error
import urllib.request

import pytest


def call(method, url, body=None):
    """Sends a JSON request and returns (status, decoded body)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@pytest.fixture(scope="session")
def ospbox():
    """A running ospbox on a throwaway workspace; yields its base URL."""
    binary = os.environ.get("OSPBOX_BIN", "ospbox")
    proc = subprocess.Popen([binary, "serve", "--ephemeral", "--ready", "json", "--addr", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ready = json.loads(proc.stdout.readline())
    assert ready["ready"], ready
    yield ready["base_url"]
    proc.terminate()
    assert proc.wait(timeout=30) == 0


@pytest.fixture
def namespace(ospbox):
    """A fresh namespace for one test; yields its base URL (where the agent points)."""
    status, ns = call("POST", ospbox + "/ospbox/v1/namespaces", {"from": "empty"})
    assert status == 201, ns
    yield ns["base_url"]
    call("DELETE", ospbox + "/ospbox/v1/namespaces/" + ns["id"])
