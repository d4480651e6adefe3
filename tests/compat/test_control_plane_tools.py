"""The control plane driven by the command-line tools people deploy with: Terraform's AWS
provider and the AWS CLI, each skipped (with the reason) where it is not installed
(docs/control-plane.md, "Tools")."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from websockets.sync.client import connect as ws_connect

import support
from test_control_plane_boto3 import KEY, REGION, SECRET, control_config, v2

# Where the AWS provider is installed: a filesystem mirror (the registry is not reachable).
TF_PLUGINS = Path(os.environ.get("SWITCHBOARD_TF_PLUGINS", "/opt/tf-plugins"))
TF_PROVIDER = "registry.terraform.io/hashicorp/aws"

CLI_CONFIG = """provider_installation {
  filesystem_mirror {
    path    = "%s"
    include = ["%s"]
  }
  direct { exclude = ["%s"] }
}
"""

MAIN_TF = r"""
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
provider "aws" {
  region                      = "%(region)s"
  access_key                  = "%(key)s"
  secret_key                  = "%(secret)s"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_region_validation      = true
  endpoints {
    apigatewayv2 = "%(endpoint)s"
  }
}
variable "reply" { type = string }
resource "aws_apigatewayv2_api" "chat" {
  name                       = "chat"
  protocol_type              = "WEBSOCKET"
  route_selection_expression = "$request.body.action"
  tags                       = { team = "realtime" }
}
resource "aws_apigatewayv2_integration" "mock" {
  api_id                        = aws_apigatewayv2_api.chat.id
  integration_type              = "MOCK"
  request_templates             = { "$default" = "{\"statusCode\": 200}" }
  template_selection_expression = "\\$default"
}
resource "aws_apigatewayv2_integration_response" "mock" {
  api_id                        = aws_apigatewayv2_api.chat.id
  integration_id                = aws_apigatewayv2_integration.mock.id
  integration_response_key      = "$default"
  response_templates            = { "$default" = var.reply }
  template_selection_expression = "\\$default"
}
resource "aws_apigatewayv2_route" "mock" {
  api_id                              = aws_apigatewayv2_api.chat.id
  route_key                           = "mock"
  target                              = "integrations/${aws_apigatewayv2_integration.mock.id}"
  route_response_selection_expression = "$default"
}
resource "aws_apigatewayv2_route_response" "mock" {
  api_id             = aws_apigatewayv2_api.chat.id
  route_id           = aws_apigatewayv2_route.mock.id
  route_response_key = "$default"
}
# The provider's documented way to redeploy on a change.
resource "aws_apigatewayv2_deployment" "this" {
  api_id = aws_apigatewayv2_api.chat.id
  triggers = {
    redeployment = sha1(jsonencode([var.reply, aws_apigatewayv2_route.mock.target]))
  }
  lifecycle { create_before_destroy = true }
  depends_on = [aws_apigatewayv2_route.mock, aws_apigatewayv2_integration_response.mock]
}
resource "aws_apigatewayv2_stage" "dev" {
  api_id        = aws_apigatewayv2_api.chat.id
  name          = "dev"
  deployment_id = aws_apigatewayv2_deployment.this.id
  stage_variables = { colour = "blue" }
}
output "api_id" { value = aws_apigatewayv2_api.chat.id }
output "endpoint" { value = aws_apigatewayv2_api.chat.api_endpoint }
"""


def terraform_missing() -> str | None:
    if shutil.which("terraform") is None:
        return "terraform is not installed"
    if not (TF_PLUGINS / TF_PROVIDER).is_dir():
        return f"the AWS provider is not in {TF_PLUGINS} (set SWITCHBOARD_TF_PLUGINS)"
    return None


@pytest.fixture
def gateway(start_gateway, backend, tmp_path):
    return start_gateway(control_config(backend, tmp_path / "data"), env=backend.gateway_env())


def ask(endpoint: str, stage: str = "dev") -> dict:
    with ws_connect(f"{endpoint}/{stage}", open_timeout=10) as ws:
        ws.send(json.dumps({"action": "mock"}))
        return json.loads(ws.recv(timeout=support.WAIT))


@pytest.mark.skipif(terraform_missing() is not None, reason=terraform_missing() or "")
def test_terraform_applies_changes_and_destroys_a_websocket_api(gateway, tmp_path):
    work = tmp_path / "tf"
    work.mkdir()
    (work / "cli.tfrc").write_text(CLI_CONFIG % (TF_PLUGINS, TF_PROVIDER, TF_PROVIDER))
    (work / "main.tf").write_text(
        MAIN_TF % {"region": REGION, "key": KEY, "secret": SECRET, "endpoint": gateway.mgmt_url}
    )
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(work / "cli.tfrc"), "TF_IN_AUTOMATION": "1",
           "CHECKPOINT_DISABLE": "1"}

    def tf(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(["terraform", *args, "-input=false", "-no-color"], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300)
        return done

    init = tf("init")
    assert init.returncode == 0, init.stdout + init.stderr
    apply = tf("apply", "-auto-approve", "-var", 'reply={"v": 1}')
    assert apply.returncode == 0, apply.stdout + apply.stderr
    outputs = json.loads(subprocess.run(["terraform", "output", "-json"], cwd=work, env=env,
                                        capture_output=True, text=True, timeout=60).stdout)
    endpoint, api_id = outputs["endpoint"]["value"], outputs["api_id"]["value"]
    assert endpoint.startswith("ws://127.0.0.1:") and endpoint.endswith(f"/{api_id}")
    assert ask(endpoint) == {"v": 1}
    # What the provider reads back matches what it wrote: no drift, no perpetual diff.
    plan = tf("plan", "-detailed-exitcode", "-var", 'reply={"v": 1}')
    assert plan.returncode == 0, plan.stdout + plan.stderr
    # A change with the documented redeployment trigger: served on the same endpoint.
    apply = tf("apply", "-auto-approve", "-var", 'reply={"v": 2}')
    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert ask(endpoint) == {"v": 2}
    client = v2(gateway)
    assert client.get_stage(ApiId=api_id, StageName="dev")["StageVariables"] == {"colour": "blue"}
    destroy = tf("destroy", "-auto-approve", "-var", 'reply={"v": 2}')
    assert destroy.returncode == 0, destroy.stdout + destroy.stderr
    assert client.get_apis()["Items"] == []


def aws_cli() -> str | None:
    return shutil.which("aws")


@pytest.mark.skipif(aws_cli() is None, reason="the AWS CLI (`aws`) is not installed")
def test_aws_cli_creates_reads_and_reports_missing_apis(gateway):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET,
           "AWS_DEFAULT_REGION": REGION, "AWS_PAGER": ""}
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)

    def aws(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([aws_cli(), "apigatewayv2", *args, "--endpoint-url", gateway.mgmt_url,
                               "--output", "json"], env=env, capture_output=True, text=True, timeout=120)

    made = aws("create-api", "--name", "cli", "--protocol-type", "WEBSOCKET",
               "--route-selection-expression", "$request.body.action")
    assert made.returncode == 0, made.stderr
    api_id = json.loads(made.stdout)["ApiId"]
    integration = json.loads(aws("create-integration", "--api-id", api_id, "--integration-type", "MOCK",
                                 "--request-templates", '{"$default": "{\\"statusCode\\": 200}"}').stdout)
    route = aws("create-route", "--api-id", api_id, "--route-key", "$default",
                "--target", f"integrations/{integration['IntegrationId']}")
    assert route.returncode == 0, route.stderr
    assert aws("create-stage", "--api-id", api_id, "--stage-name", "dev").returncode == 0
    deployed = aws("create-deployment", "--api-id", api_id, "--stage-name", "dev")
    assert deployed.returncode == 0, deployed.stderr
    listed = json.loads(aws("get-apis").stdout)
    assert [a["ApiId"] for a in listed["Items"]] == [api_id]
    missing = aws("get-api", "--api-id", "nosuchapi0")
    assert missing.returncode != 0 and "NotFoundException" in missing.stderr, missing.stderr
    version = subprocess.run([aws_cli(), "--version"], capture_output=True, text=True, timeout=60)
    print("AWS CLI:", (version.stdout or version.stderr).strip())
