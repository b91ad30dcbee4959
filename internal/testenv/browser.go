package testenv

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Page is what a headless browser made of a page: the DOM after its
// scripts ran, and every console message the page caused (errors, CSP
// violations, failed loads; the dashboards log nothing of their own).
type Page struct {
	DOM     string
	Console []string
}

// consoleLine is how Chromium's --enable-logging=stderr prints a page's
// console messages, whatever their level.
var consoleLine = regexp.MustCompile(`:CONSOLE[:(]`)

// Chromium returns Debian's chromium; `make test` and .ci/run install it.
// Without it the test fails: dashboards are tested in a real browser.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed (apt-get install chromium): the dashboards are tested in a headless browser")
	return ""
}

// chromium runs headless Chromium on a file with extra flags and returns
// its stdout and stderr.
func chromium(t testing.TB, file, fragment string, flags ...string) (stdout, stderr []byte) {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--user-data-dir=" + t.TempDir(),
		"--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
	}, flags...)
	url := "file://" + abs
	if fragment != "" {
		url += "#" + fragment
	}
	cmd := exec.CommandContext(ctx, Chromium(t), append(args, url)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium on %s: %v\n%s", file, err, errb.Bytes())
	}
	return out.Bytes(), errb.Bytes()
}

// Browse opens a file (with an optional #fragment) in headless Chromium
// and returns the DOM after its scripts ran and the console messages.
func Browse(t testing.TB, file, fragment string) Page {
	t.Helper()
	out, errb := chromium(t, file, fragment, "--dump-dom")
	var p Page
	p.DOM = string(out)
	for _, l := range strings.Split(string(errb), "\n") {
		if consoleLine.MatchString(l) {
			p.Console = append(p.Console, l)
		}
	}
	return p
}

// Screenshot writes a PNG of the page into the test's output folder and,
// when DAGSEC_ARTIFACTS is set, copies it there (a CI artifact); it
// returns the PNG's path.
func Screenshot(t testing.TB, file, name string) string {
	t.Helper()
	png := filepath.Join(t.TempDir(), name)
	chromium(t, file, "", "--screenshot="+png, "--window-size=1280,1600", "--hide-scrollbars")
	data, err := os.ReadFile(png)
	if err != nil {
		t.Fatalf("screenshot of %s: %v", file, err)
	}
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) || len(data) < 1000 {
		t.Fatalf("screenshot of %s is not a PNG of a page (%d bytes)", file, len(data))
	}
	if dir := os.Getenv("DAGSEC_ARTIFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+name)
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", dst)
	}
	t.Logf("screenshot: %s", png)
	return png
}
