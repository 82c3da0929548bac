#!/usr/bin/env bash
# Install Debian's Chromium (and its driver) for the browser tests when it is missing, with a
# Chinese font so the screenshots are readable. The tests drive the system browser; they never
# download one of their own.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -d /usr/share/fonts/truetype/wqy ]; then
    exit 0
fi
echo "browser: installing chromium" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q chromium chromium-driver fonts-wqy-microhei
