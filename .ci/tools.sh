# Sourced by the .ci scripts: builds, once per version, the Dagger tools
# they run offline, and sets the paths.
#   DAGGER_VERSION  the engine version dagger.json pins
#   codegen         Dagger's own codegen (cmd/codegen) at that version
#   schemagen       this repo's .ci/schemagen, versioned by a digest of its
#                   sources so an edit rebuilds it
#   core_schema     the core API introspection in the shared folder
DAGGER_VERSION=v0.21.8
ci_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ci_tools="${DAGSEC_TOOLS_DIR:-$HOME/.cache/dagsec/tools}"
ci_shared="${DAGSEC_SHARED:-$ci_root/../shared}"
core_schema="$ci_shared/dagger/introspection-$DAGGER_VERSION.json"
if [ ! -f "$core_schema" ]; then
  echo "ci: $core_schema not found; set DAGSEC_SHARED to the shared folder" >&2
  exit 2
fi

codegen="$ci_tools/dagger-codegen@$DAGGER_VERSION/codegen"
if [ ! -x "$codegen" ]; then
  echo "ci: building Dagger's codegen $DAGGER_VERSION (first run only)"
  ci_w=$(mktemp -d)
  printf 'module cgbuild\n\ngo 1.26.1\n\nrequire github.com/dagger/dagger %s\n' "$DAGGER_VERSION" > "$ci_w/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/dagger/dagger/cmd/codegen"\n' > "$ci_w/tools.go"
  (cd "$ci_w" && GOFLAGS=-mod=mod go mod tidy && go build -o codegen github.com/dagger/dagger/cmd/codegen)
  mkdir -p "$(dirname "$codegen")" && mv "$ci_w/codegen" "$codegen"
  rm -rf "$ci_w"
fi

ci_src="$ci_root/.ci/schemagen"
ci_digest=$(cd "$ci_src" && cat go.mod go.sum $(ls *.go | grep -v '_test\.go$' | sort) | sha256sum | cut -c1-12)
schemagen="$ci_tools/dagsec-schemagen@$DAGGER_VERSION-$ci_digest/schemagen"
if [ ! -x "$schemagen" ]; then
  echo "ci: building schemagen $DAGGER_VERSION-$ci_digest"
  mkdir -p "$(dirname "$schemagen")"
  (cd "$ci_src" && go build -o "$schemagen.tmp" .) && mv "$schemagen.tmp" "$schemagen"
fi
