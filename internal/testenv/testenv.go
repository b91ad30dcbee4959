// Package testenv gives tests the real pinned tools and planted repositories.
package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/dagsec/dagsec/internal/testtools"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/stages"
)

// Installer shares the default tools folder, so tests reuse the builds
// `dagsec tools install` (and CI's cache) made.
func Installer(t testing.TB) *host.Installer {
	t.Helper()
	return &host.Installer{Dir: host.DefaultToolsDir(), Progress: testWriter{t}}
}

// Tool returns the pinned binary of a tool, building it if needed. A tool
// that cannot be had fails the test: these tests never skip a real scanner.
func Tool(t testing.TB, name string) string {
	t.Helper()
	tool, ok := stages.LookupTool(name)
	if !ok {
		t.Fatalf("unknown tool %s", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	p, err := Installer(t).Ensure(ctx, tool)
	if err != nil {
		t.Fatalf("pinned %s: %v", name, err)
	}
	return p
}

// Actionlint returns the pinned actionlint (testtools.Actionlint), built
// like the scanners; it fails the test when it cannot be had.
func Actionlint(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p, err := Installer(t).Ensure(ctx, testtools.Actionlint)
	if err != nil {
		t.Fatalf("pinned actionlint: %v", err)
	}
	return p
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// Planted secrets, assembled at run time so this repository holds none.
var (
	AWSKeyID    = "AKIA" + "Z3MHWQ7T5XKPL2NB"
	AWSSecret   = "wJalr" + "XUtnF" + "EMI/K" + "7MDENG/" + "bPxRf" + "iCYZ3" + "MHWQ7" + "T5X"
	DBPassword  = "S3cr3t" + "Passw0rd!x"
	DatabaseURL = "postgres://app:" + DBPassword + "@db.internal:5432/app"
)

// PrivateKeyPEM makes a fresh EC private key in PEM form.
func PrivateKeyPEM(t testing.TB) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

// LeakyFiles is a tree with an AWS key, a private key and a database URL.
func LeakyFiles(t testing.TB) map[string]string {
	return map[string]string{
		"app/settings.py":  "import os\n\nAWS_ACCESS_KEY_ID = \"" + AWSKeyID + "\"\nDEBUG = False\n",
		"deploy/id_ec.pem": PrivateKeyPEM(t),
		"config/db.env":    "DATABASE_URL=" + DatabaseURL + "\n",
		"README.md":        "# sample\n",
	}
}

// CleanFiles is a small tree with nothing to find.
func CleanFiles() map[string]string {
	return map[string]string{
		"main.go":   "package main\n\nimport \"os\"\n\nfunc main() { _ = os.Getenv(\"DATABASE_URL\") }\n",
		"README.md": "# clean\n\nSet DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app\n",
	}
}

// Dir writes files into a new temporary folder.
func Dir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	Write(t, dir, files)
	return dir
}

// Write adds files to a folder.
func Write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// GitRepo writes files into a new repository and commits them.
func GitRepo(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := Dir(t, files)
	Git(t, dir, "init", "-q", "-b", "main")
	Commit(t, dir, "initial")
	return dir
}

// Commit stages everything and commits it.
func Commit(t testing.TB, dir, msg string) {
	t.Helper()
	Git(t, dir, "add", "-A")
	Git(t, dir, "-c", "user.name=dagsec test", "-c", "user.email=test@dagsec.invalid", "commit", "-q", "-m", msg)
}

// Git runs git in dir.
func Git(t testing.TB, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// FakeTools makes a tools folder whose pinned binary for a tool is the given
// shell script: fault injection for crashes and garbage reports, through
// the same runner path the real tool takes.
func FakeTools(t testing.TB, tool, script string) *host.Installer {
	t.Helper()
	tl, ok := stages.LookupTool(tool)
	if !ok {
		t.Fatalf("unknown tool %s", tool)
	}
	inst := &host.Installer{Dir: t.TempDir()}
	p := inst.Path(tl)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return inst
}
