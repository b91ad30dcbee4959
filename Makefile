# `make test` is the test command README.md names and .ci/run calls.
GO ?= go

.PHONY: test fmt-check vet unit module deps

test: deps fmt-check vet unit module

# What the tests run for real: bandit and wapiti from Debian (and the
# pre-commit framework the hook tests commit through), xmllint
# (libxml2-utils) to check junit.xml against Jenkins' schema, the Go scanners
# and the offline Go vulnerability database, and actionlint for the example
# workflow, built once, one at a time, and cached by version (a no-op
# afterwards; .ci/run builds them ahead); chromium, the headless browser the
# dashboards (report.html, fleet.html) are tested in. Debian tools are
# command:package.
DEBIAN_TOOLS = bandit:bandit wapiti:wapiti xmllint:libxml2-utils pre-commit:pre-commit chromium:chromium

deps:
	@missing=""; for t in $(DEBIAN_TOOLS); do command -v $${t%%:*} >/dev/null || missing="$$missing $${t#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make: installing$$missing from Debian packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi
	$(GO) run ./cmd/dagsec tools install
	$(GO) run ./internal/testtools/install

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The dashboard tests keep a screenshot of each page they open here (a CI
# artifact); DAGSEC_ARTIFACTS= (empty) keeps them in the tests' temporary
# folders only.
DAGSEC_ARTIFACTS ?= $(CURDIR)/test-artifacts
export DAGSEC_ARTIFACTS

unit:
	$(GO) test -count=1 -timeout 30m ./...
	@if [ -n "$(DAGSEC_ARTIFACTS)" ] && ls "$(DAGSEC_ARTIFACTS)"/*.png >/dev/null 2>&1; then \
	  echo "screenshots of the dashboards: $(DAGSEC_ARTIFACTS)"; ls "$(DAGSEC_ARTIFACTS)"; fi

# The Dagger module, the module that imports it, and the sample app (each
# its own Go module, out of reach of ./...).
module:
	cd .dagger && $(GO) build ./... && $(GO) vet ./...
	cd examples/consumer && $(GO) build ./... && $(GO) vet ./...
	cd examples/app && GOWORK=off $(GO) vet ./...
