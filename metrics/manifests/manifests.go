// Package manifests fingerprints a source's dependency manifests and
// lockfiles, so run reports can tell when dependencies last changed. It
// imports only stages, so pipeline can use it (metrics imports pipeline).
package manifests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/dagsec/dagsec/stages"
)

// Patterns are the dependency manifests and lockfiles digested, anywhere in
// the source ("**/" matches the root too). Files in the folders no stage
// scans (stages.Skipped: vendor, node_modules, .venv, testdata, .git,
// dagsec-report) are left out.
var Patterns = []string{
	// Go
	"**/go.mod", "**/go.sum", "**/go.work", "**/go.work.sum",
	// JavaScript
	"**/package.json", "**/package-lock.json", "**/npm-shrinkwrap.json", "**/yarn.lock", "**/pnpm-lock.yaml", "**/bun.lock",
	// Python
	"**/requirements*.txt", "**/Pipfile", "**/Pipfile.lock", "**/poetry.lock", "**/pyproject.toml", "**/uv.lock",
	// Rust, Ruby, PHP
	"**/Cargo.toml", "**/Cargo.lock", "**/Gemfile", "**/Gemfile.lock", "**/composer.json", "**/composer.lock",
	// JVM, .NET
	"**/pom.xml", "**/build.gradle", "**/build.gradle.kts", "**/gradle.lockfile", "**/packages.lock.json",
	// Elixir, Dart
	"**/mix.exs", "**/mix.lock", "**/pubspec.yaml", "**/pubspec.lock",
}

// Digest is "sha256:" and the hex SHA-256 of every manifest's path and
// content, in sorted path order; each path and content is length-prefixed,
// so no two different sets of files hash alike. A source without manifests
// has the digest of nothing (a fixed value), so manifests appearing or going
// away is a change too.
func Digest(ctx context.Context, probe stages.Probe) (string, error) {
	files, err := stages.FindFiles(ctx, probe, Patterns...) // sorted, skipped folders left out
	if err != nil {
		return "", fmt.Errorf("dependency manifests: %w", err)
	}
	h := sha256.New()
	for _, f := range files {
		data, err := probe.ReadFile(ctx, f)
		if err != nil {
			return "", fmt.Errorf("dependency manifest %s: %w", f, err)
		}
		for _, part := range [][]byte{[]byte(f), data} {
			h.Write([]byte(strconv.Itoa(len(part))))
			h.Write([]byte{':'})
			h.Write(part)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
