"""deploy/ for several replicas: the Compose file with PostgreSQL, Redis, three replicas and
Caddy, and the Kubernetes manifests, validated against the Kubernetes schemas.

kubernetes-validate (PyPI) bundles the Kubernetes OpenAPI schemas of each release, so it works
without a cluster or a network; it is run in strict mode (unknown fields fail), and shown a
broken manifest too, so a check that passes everything would be noticed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBE = DEPLOY / "kubernetes"
BIN = Path(sys.executable).parent
COMPOSE = DEPLOY / "docker-compose.replicas.yml"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=120, check=False
    )


def manifest(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((KUBE / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


class TestReplicasCompose:
    def test_valid_against_the_compose_spec_schema(self) -> None:
        """check-jsonschema validates the file against the vendored compose-spec schema."""
        result = run(BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", COMPOSE)
        assert result.returncode == 0, result.stdout + result.stderr

    def test_three_replicas_on_postgres_and_redis(self) -> None:
        """Three bot services, each with its own REPLICA_ID, share PostgreSQL and Redis; all of
        it in the `replicas` profile."""
        services = yaml.safe_load(COMPOSE.read_text())["services"]
        bots = {name: s for name, s in services.items() if name.startswith("bot-")}
        assert sorted(bots) == ["bot-1", "bot-2", "bot-3"]
        ids = {s["environment"]["REPLICA_ID"] for s in bots.values()}
        assert ids == set(bots)
        for bot in bots.values():
            env = bot["environment"]
            assert env["DATABASE_URL"].startswith("postgresql://bot:")
            assert "@postgres:5432/bot" in env["DATABASE_URL"]
            assert env["REDIS_URL"] == "redis://redis:6379/0"
            assert bot["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert all(s["profiles"] == ["replicas"] for s in services.values())

    def test_caddy_sends_webhooks_to_the_healthy_replica(self) -> None:
        """Caddy balances over the three replicas with an active /healthz check (a replica
        starting or stopping answers 503 and gets no posts), and keeps the 1 MB body limit."""
        caddyfile = (DEPLOY / "Caddyfile.replicas").read_text()
        assert "reverse_proxy bot-1:8443 bot-2:8443 bot-3:8443 {" in caddyfile
        assert "health_uri /healthz" in caddyfile and "health_port 8080" in caddyfile
        assert re.search(r"request_body \{\s*max_size 1MB\s*\}", caddyfile)


class TestKubernetes:
    @pytest.mark.parametrize("name", sorted(p.name for p in KUBE.glob("*.yaml")))
    def test_valid_against_the_kubernetes_schemas(self, name: str) -> None:
        """Each manifest passes kubernetes-validate in strict mode."""
        result = run(BIN / "kubernetes-validate", "--strict", KUBE / name)
        assert result.returncode == 0, result.stdout + result.stderr

    def test_the_validator_catches_a_broken_manifest(self, tmp_path: Path) -> None:
        """The check has teeth: a misspelt field of a Deployment fails."""
        broken = (KUBE / "deployment.yaml").read_text().replace("readinessProbe:", "readyProbe:")
        path = tmp_path / "deployment.yaml"
        path.write_text(broken)
        result = run(BIN / "kubernetes-validate", "--strict", path)
        assert result.returncode != 0

    def test_probes_route_to_ready_replicas_without_restarting_on_a_503(self) -> None:
        """Readiness asks /healthz (a 503 keeps a replica out of the Service); liveness only
        asks that the health port answers (a database outage restarts nothing)."""
        [container] = manifest("deployment.yaml")["spec"]["template"]["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
        assert "tcpSocket" in container["livenessProbe"]
        assert "httpGet" not in container["livenessProbe"]

    def test_settings_come_from_the_secret(self) -> None:
        """The settings are read from the Secret (no secret value in the Deployment); each
        pod's name is its REPLICA_ID."""
        [container] = manifest("deployment.yaml")["spec"]["template"]["spec"]["containers"]
        assert container["envFrom"] == [{"secretRef": {"name": "telegram-llm-bot"}}]
        env = {e["name"]: e for e in container["env"]}
        assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "telegram-llm-bot"
        assert env["REPLICA_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
        assert manifest("secret.example.yaml")["metadata"]["name"] == "telegram-llm-bot"

    def test_disruption_budget_and_service_select_the_pods(self) -> None:
        """The PodDisruptionBudget keeps two of three replicas; it and the Service select
        the Deployment's pods; the grace period outlasts SHUTDOWN_GRACE_SECONDS."""
        deployment = manifest("deployment.yaml")
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        pdb, service = manifest("pdb.yaml"), manifest("service.yaml")
        assert deployment["spec"]["replicas"] == 3
        assert pdb["spec"]["minAvailable"] == 2
        assert pdb["spec"]["selector"]["matchLabels"] == labels
        assert service["spec"]["selector"] == labels
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 10
