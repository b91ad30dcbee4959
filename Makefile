# `make test` is the test command README.md names and .ci/run calls.
GO ?= go

.PHONY: test fmt-check vet unit module

test: fmt-check vet unit module

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 -timeout 30m ./...

module:
	cd .dagger && $(GO) build ./... && $(GO) vet ./...
