#!/usr/bin/env bash
# THE test command (`npm test`): ensure the Debian packages the integration tests need, build, run vitest.
#   bash test/run.sh [vitest args...]      e.g. bash test/run.sh test/unit
# As root, missing packages are installed with apt-get (in a container without init the packages do
# not start their daemons; the harness runs its own instances on free loopback ports).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(dovecot-imapd dovecot-pop3d dovecot-lmtpd gnome-keyring libsecret-tools dbus openssl postgresql)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  install=(apt-get install -y --no-install-recommends "${missing[@]}")
  if [ "$(id -u)" = 0 ]; then
    echo "test/run.sh: installing ${missing[*]}" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive "${install[@]}"
  else
    echo "test/run.sh: missing Debian packages: ${missing[*]}. Install them with:" >&2
    echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive ${install[*]}" >&2
    exit 1
  fi
fi

npm run build --if-present
# The tests are type-checked too (the build checks src only).
npx tsc -p tsconfig.test.json
# A JSON report beside the usual output, to end with one plain "N passed, N failed" line.
report=$(mktemp -t mailbox-vitest-XXXXXX.json)
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# Skipped tests say why: the reason is in the title of their describe block (or their own), printed
# once per block, before the one closing line.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = (r.numPendingTests || 0) + (r.numTodoTests || 0);
  const why = new Map();
  for (const file of r.testResults) {
    for (const t of file.assertionResults) {
      if (!["skipped", "pending", "todo"].includes(t.status)) continue;
      const key = `${require("path").relative(process.cwd(), file.name)}: ${t.ancestorTitles[0] ?? t.title}`;
      why.set(key, (why.get(key) || 0) + 1);
    }
  }
  for (const [what, n] of why) console.log(`skipped ${n}: ${what}`);
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$report" 2>/dev/null || true
exit "$status"
