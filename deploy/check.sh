#!/usr/bin/env bash
# promtool's checks of deploy/: the alert rules (syntax and PromQL), their unit tests
# (alerts.test.yml), and the PromQL of the dashboard's queries. That the metrics they name exist,
# and the manifests, are checked against a running service by test/deploy-manifests.e2e-spec.ts,
# which `npm test` runs.
#
# promtool is the one on PATH, else the one of Debian's `prometheus` package, unpacked into
# .toolchain/ the first time: installing the package would also install and start a Prometheus
# server, which a check has no use for.
set -euo pipefail
cd "$(dirname "$0")/.."

promtool="$(command -v promtool || true)"
if [ -z "$promtool" ]; then
  promtool=.toolchain/promtool/promtool
  if [ ! -x "$promtool" ]; then
    if ! command -v apt-get >/dev/null; then
      echo "promtool is not on PATH: install Prometheus's promtool to check deploy/prometheus" >&2
      exit 1
    fi
    echo "unpacking promtool from Debian's prometheus package into .toolchain/promtool/" >&2
    download="$(mktemp -d)"
    trap 'rm -rf "$download"' EXIT
    # The download runs as whoever runs this (root in CI), not apt's sandbox user, who could not
    # write into a private temporary folder; a machine that never listed packages lists them first.
    fetch() {
      (cd "$download" && apt-get download -qq -o APT::Sandbox::User="$(id -un)" prometheus)
    }
    fetch 2>/dev/null || { apt-get update -qq && fetch; }
    mkdir -p .toolchain/promtool
    dpkg-deb --fsys-tarfile "$download"/prometheus_*.deb |
      tar -x -C .toolchain/promtool --strip-components=3 ./usr/bin/promtool
  fi
fi

"$promtool" --version 2>&1 | sed -n 1p
"$promtool" check rules deploy/prometheus/alerts.yml
"$promtool" test rules deploy/prometheus/alerts.test.yml

# The dashboard's queries parse as PromQL: each becomes a recording rule of a scratch rules file
# (JSON is YAML), with Grafana's variables given values of the kind Grafana substitutes.
queries="$(mktemp --suffix=.rules.json)"
node -e '
  const dashboard = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const rules = [];
  (function walk(node) {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== "object") return;
    if (typeof node.expr === "string") {
      const expr = node.expr
        .replaceAll("$__rate_interval", "1m")
        .replaceAll("$__range", "6h")
        .replaceAll("$job", ".*");
      rules.push({ record: `dashboard:query_${rules.length}`, expr });
    }
    for (const value of Object.values(node)) walk(value);
  })(dashboard.panels);
  require("fs").writeFileSync(process.argv[2], JSON.stringify({ groups: [{ name: "dashboard", rules }] }));
' deploy/grafana/pstn-tracker.json "$queries"
echo "Checking the queries of deploy/grafana/pstn-tracker.json"
if ! checked="$("$promtool" check rules "$queries" 2>&1)"; then
  echo "$checked" >&2
  rm -f "$queries"
  exit 1
fi
echo "$checked" | sed -n 2p
rm -f "$queries"
