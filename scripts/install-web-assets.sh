#!/usr/bin/env bash
# Install the GOV.UK Frontend assets (CSS, JS, fonts, images) from the npm registry and copy
# them where the web interface serves them (/assets). Run at set-up, never at run time: the
# running service uses only these local files, no CDN.
set -euo pipefail
cd "$(dirname "$0")/.."

WEB=src/accord/interfaces/web/static
VENDOR="$WEB/vendor"
# GOV.UK Frontend 6 pairs with govuk-frontend-jinja 4 (its macros track the same release).
VERSION="${GOVUK_FRONTEND_VERSION:-6}"

mkdir -p "$VENDOR"
npm install --prefix "$VENDOR" --no-audit --no-fund --silent "govuk-frontend@$VERSION" >/dev/null
DIST="$VENDOR/node_modules/govuk-frontend/dist/govuk"

rm -rf "$WEB/govuk"
mkdir -p "$WEB/govuk"
cp -R "$DIST/assets/." "$WEB/govuk/"
cp "$DIST"/govuk-frontend.min.css "$DIST"/govuk-frontend.min.js "$WEB/govuk/"
echo "GOV.UK Frontend $(node -p "require('./$VENDOR/node_modules/govuk-frontend/package.json').version") installed in $WEB/govuk"
