#!/usr/bin/env bash
# Re-vendors the /docs viewer (Swagger UI, Apache-2.0) into assets/docs/, from the npm registry at
# a pinned version checked against a pinned digest. The binary embeds these files
# (include_bytes!), so /docs works offline and its CSP names no external origin. Only needed to
# upgrade the viewer: bump VERSION and SHA256 together.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="5.35.0"
SHA256="1b8e891893404ea4c3558b6a87e2a3e494e7eedba41168c2ece5800a391a6ea6"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null)
echo "$SHA256  $WORK/swagger-ui-dist-$VERSION.tgz" | sha256sum -c --quiet
tar -xzf "$WORK/swagger-ui-dist-$VERSION.tgz" -C "$WORK"
for file in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE; do
    cp "$WORK/package/$file" "assets/docs/$file"
done
# The source-map comments would make browsers ask us for .map files we do not serve.
sed -i '/^\/\/# sourceMappingURL=/d' assets/docs/swagger-ui-bundle.js
sed -i 's|/\*# sourceMappingURL=[^*]*\*/||' assets/docs/swagger-ui.css
echo "swagger-ui-dist $VERSION vendored into assets/docs/"
