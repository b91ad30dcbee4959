// Package testtools pins the tools dagsec's tests run besides its
// scanners: actionlint checks the example GitHub workflow. They are built
// from the Go module proxy and cached by version next to the scanners
// (host.Installer), by `make test` and .ci/run (the install command).
package testtools

import "github.com/dagsec/dagsec/stages"

// Actionlint is github.com/rhysd/actionlint at a pinned version.
var Actionlint = stages.Tool{
	Name:      "actionlint",
	Version:   "v1.7.12",
	GoModule:  "github.com/rhysd/actionlint",
	GoPackage: "github.com/rhysd/actionlint/cmd/actionlint",
	LDFlags:   "-X github.com/rhysd/actionlint.version=v1.7.12",
}

// All are the tools the install command builds.
var All = []stages.Tool{Actionlint}
