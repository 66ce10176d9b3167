#!/usr/bin/env bash
# Checks the deployment files, as CI does (.ci/run calls this before `cargo test`):
#   cfn-lint               deploy/remediator.yaml (the CloudFormation stack)
#   parliament             deploy/iam-policy.json (the task's least-privilege policy)
#   hadolint               deploy/Dockerfile
#   systemd-analyze        deploy/remediator.service (verify, and its exposure score)
#   the dashboard body     valid JSON once Fn::Sub has run, every ${...} defined
# The Python tools are installed, pinned (deploy/requirements.txt), into .deploy-venv/ at the
# repository root, once; again only when the pins change. Any finding fails the script.
# (That tests/iam.rs agrees with the adapters' source is `cargo test --test iam`.)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.deploy-venv
REQUIREMENTS=deploy/requirements.txt

apt_install() {
  echo "== installing $* (Debian packages)"
  apt-get update -qq && apt-get install -y -qq "$@" >/dev/null
}

# --- tools ------------------------------------------------------------------------------------
if ! command -v python3 >/dev/null 2>&1; then
  apt_install python3
fi
if [ ! -x "$VENV/bin/python" ]; then
  rm -rf "$VENV"
  # Debian's python3 makes venvs only with python3-venv (ensurepip) installed.
  if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    rm -rf "$VENV"
    apt_install python3-venv
    python3 -m venv "$VENV"
  fi
fi
if ! cmp -s "$REQUIREMENTS" "$VENV/requirements.installed"; then
  echo "== installing the checkers into $VENV ($REQUIREMENTS)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$VENV/requirements.installed"
fi
if ! command -v systemd-analyze >/dev/null 2>&1; then
  apt_install systemd
fi

# --- CloudFormation ---------------------------------------------------------------------------
echo "== $("$VENV/bin/cfn-lint" --version) deploy/remediator.yaml"
"$VENV/bin/cfn-lint" deploy/remediator.yaml
echo "no findings"

# --- IAM policy -------------------------------------------------------------------------------
# The policy's ${...} placeholders are the template's Fn::Sub variables; parliament checks ARNs,
# so it reads the policy rendered for an example stack. Every placeholder must be rendered here:
# one left over fails the check rather than being read as a malformed ARN.
echo "== $("$VENV/bin/parliament" --version) deploy/iam-policy.json (rendered for bossdb.boss in 123456789012, us-east-1)"
rendered=$(sed \
  -e 's/\${AWS::Partition}/aws/g' \
  -e 's/\${AWS::Region}/us-east-1/g' \
  -e 's/\${AWS::AccountId}/123456789012/g' \
  -e 's/\${Domain}/bossdb.boss/g' \
  -e 's/\${Dom}/bossdb-boss/g' \
  -e 's/\${DeadletterQueueName}/DeadletterBossdbBoss/g' \
  -e 's/\${AlertTopicArn}/arn:aws:sns:us-east-1:123456789012:bossdb-boss-alerts/g' \
  deploy/iam-policy.json)
if grep -n '\${' <<<"$rendered"; then
  echo "deploy/check.sh: a placeholder of deploy/iam-policy.json is not rendered above" >&2
  exit 1
fi
# Through stdin: parliament refuses --file when its stdin is not a terminal (as in CI).
# Every severity, community auditors included; parliament exits 1 on any finding.
"$VENV/bin/parliament" --include-community-auditors --minimum_severity INFO <<<"$rendered"
echo "no findings"

# --- Dockerfile -------------------------------------------------------------------------------
echo "== $("$VENV/bin/hadolint" --version) deploy/Dockerfile"
"$VENV/bin/hadolint" --no-color deploy/Dockerfile
echo "no findings"

# --- systemd unit -----------------------------------------------------------------------------
# verify wants the ExecStart binary to exist: the unit is checked with /bin/true in its place.
echo "== $(systemd-analyze --version | head -n 1) deploy/remediator.service"
unit_dir=$(mktemp -d)
trap 'rm -rf "$unit_dir"' EXIT
sed 's#/usr/local/bin/remediator#/bin/true#g' deploy/remediator.service >"$unit_dir/remediator.service"
# verify exits 0 on an unknown key or a value it cannot parse (it ignores them, as systemd
# would): any line about the unit is a finding.
verify=$(systemd-analyze verify --man=no "$unit_dir/remediator.service" 2>&1) || {
  echo "$verify" >&2
  exit 1
}
if [ -n "$verify" ]; then
  echo "$verify"
  if grep -q 'remediator\.service' <<<"$verify"; then
    echo "deploy/check.sh: systemd-analyze verify has findings on deploy/remediator.service" >&2
    exit 1
  fi
fi
echo "verify: no findings"
# The exposure score (0 safest, 10 unsafe; the threshold is in tenths): fail above 2.0 "OK".
systemd-analyze security --offline=yes --threshold=20 "$unit_dir/remediator.service" | tail -n 1

# --- dashboard --------------------------------------------------------------------------------
echo "== dashboard body of deploy/remediator.yaml"
"$VENV/bin/python" - <<'PY'
import json, re, sys
from cfnlint.decode import decode

template, problems = decode("deploy/remediator.yaml")
if problems:
    sys.exit(f"cannot read the template: {problems}")
body, variables = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
known = set(template["Parameters"]) | set(variables) | {"AWS::Region", "AWS::AccountId", "AWS::Partition"}
unknown = set(re.findall(r"\$\{([^}!]+)\}", body)) - known
if unknown:
    sys.exit(f"the dashboard uses undefined placeholders: {sorted(unknown)}")
widgets = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))["widgets"]
print(f"{len(widgets)} widgets, valid JSON, every placeholder defined")
PY

echo "== deploy/check.sh: all checks passed"
