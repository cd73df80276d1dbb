#!/usr/bin/env bash
# Installs Debian's Chromium for the browser test (pytests/test_docs_site.py, run by .ci/run) and the screenshot
# scripts (scripts/screenshot_*.py). Idempotent and non-interactive; as root it needs no sudo.
# Playwright's own `playwright install` is not used: it downloads a browser build from outside the package
# registries, which our machines cannot reach.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x $CHROMIUM ]]; then
    # The Debian launcher's /etc/chromium.d scripts may print shell noise on stderr; the version is on stdout.
    echo "chromium already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "error: installing chromium needs root, and sudo is not available" >&2
    exit 1
fi

# sudo resets the environment, so the non-interactive frontend is passed through env.
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)

if ! "${APT[@]}" update; then
    echo "error: apt-get update failed; cannot install chromium" >&2
    exit 1
fi
if ! "${APT[@]}" install -y --no-install-recommends chromium; then
    echo "error: apt-get install chromium failed" >&2
    exit 1
fi
if [[ ! -x $CHROMIUM ]]; then
    echo "error: apt-get installed chromium but $CHROMIUM is missing" >&2
    exit 1
fi
echo "chromium installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
