package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/dagsec/dagsec/internal/testenv"
)

// insecureTLSFiles is a Go module with one high SAST finding, gosec's G402
// (TLS InsecureSkipVerify), under the default preset's sast gate (critical).
func insecureTLSFiles() map[string]string {
	return map[string]string{
		"go.mod": "module example.com/tls\n\ngo 1.22\n",
		"main.go": `package main

import (
	"crypto/tls"
	"fmt"
	"net/http"
)

func main() {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get("https://example.com/")
	fmt.Println(resp, err)
}
`,
	}
}

// chunk is output read from the terminal, and when.
type chunk struct {
	at   time.Time
	data string
}

// onTerminal runs dagsec with stdout and stderr on a pseudo-terminal, as
// in a shell, and returns what the terminal received, in order and timed,
// and when the command returned.
func onTerminal(t *testing.T, args ...string) (code int, out []chunk, end time.Time) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			if n > 0 {
				mu.Lock()
				out = append(out, chunk{time.Now(), string(buf[:n])})
				mu.Unlock()
			}
			if err != nil { // EIO once the terminal's last writer closed it
				if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.EIO) {
					t.Errorf("reading the terminal: %v", err)
				}
				return
			}
		}
	}()
	code = run(context.Background(), args, tty, tty)
	end = time.Now()
	tty.Close()
	<-done
	return code, out, end
}

func joined(cs []chunk) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.data)
	}
	return strings.ReplaceAll(b.String(), "\r\n", "\n")
}

// A scan in a terminal shows its tools while they run, then the findings
// that blocked, with colour; with NO_COLOR, --no-color or in CI no escape
// code reaches the terminal, and in CI progress is plain lines.
func TestScanOnATerminal(t *testing.T) {
	testenv.Tool(t, "gosec")
	src := testenv.Dir(t, insecureTLSFiles())
	for _, tt := range []struct {
		name        string
		env         map[string]string
		flags       []string
		color, live bool
	}{
		{"terminal", map[string]string{"CI": "", "NO_COLOR": "", "TERM": "xterm-256color"}, nil, true, true},
		{"NO_COLOR", map[string]string{"CI": "", "NO_COLOR": "1", "TERM": "xterm-256color"}, nil, false, true},
		{"--no-color", map[string]string{"CI": "", "NO_COLOR": "", "TERM": "xterm-256color"}, []string{"--no-color"}, false, true},
		{"CI", map[string]string{"CI": "true", "NO_COLOR": "", "TERM": "xterm-256color"}, nil, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			out := filepath.Join(t.TempDir(), "r")
			args := append([]string{"scan", "--stages", "sast", "--fail-on", "high", "--out", out}, tt.flags...)
			code, chunks, end := onTerminal(t, append(args, src)...)
			all := joined(chunks)
			if code != 1 {
				t.Fatalf("exit %d, want 1 (G402 is high)\n%s", code, all)
			}

			// Progress: the tool was shown running before the scan ended.
			progress := "sast: gosec started"
			if tt.live {
				progress = "running: sast: gosec"
			}
			var (
				seen  time.Time
				sofar strings.Builder
			)
			for _, c := range chunks {
				if sofar.WriteString(c.data); strings.Contains(sofar.String(), progress) {
					seen = c.at
					break
				}
			}
			if seen.IsZero() || !seen.Before(end) {
				t.Errorf("%q did not show while the scan ran:\n%q", progress, all)
			}
			// Then the blocking finding, after the tool finished, and the
			// last line naming summary.md.
			doneAt := strings.Index(all, "sast: gosec done in")
			findingAt := strings.Index(all, "main.go:10 G402")
			if doneAt < 0 || findingAt < doneAt {
				t.Errorf("the blocking finding (at %d) does not follow the tool's end (at %d):\n%q", findingAt, doneAt, all)
			}
			lines := strings.Split(strings.TrimRight(all, "\n"), "\n")
			if last := lines[len(lines)-1]; !strings.Contains(last, filepath.Join(out, "summary.md")) || !strings.Contains(last, "exit 1") {
				t.Errorf("the last line does not name summary.md and the exit code: %q", last)
			}

			hasEscape := strings.Contains(all, "\x1b")
			switch {
			case tt.color && !strings.Contains(all, "\x1b[31mhigh\x1b[0m"):
				t.Errorf("no colour on a terminal:\n%q", all)
			case !tt.color && hasEscape:
				t.Errorf("escape codes with %s:\n%q", tt.name, all)
			}
			if tt.live != strings.Contains(all, "\r") {
				t.Errorf("in-place updates (\\r) %v, want %v:\n%q", !tt.live, tt.live, all)
			}
		})
	}
}

// --fail-on high makes a high SAST finding block without a policy file
// (the default preset's sast gate is critical: it only warns, and the
// summary says the host's tools cannot reach that gate); --exit-code sets
// a blocked run's exit code; --format json prints the report.
func TestScanFailOnExitCodeAndFormat(t *testing.T) {
	testenv.Tool(t, "gosec")
	src := testenv.Dir(t, insecureTLSFiles())
	scan := func(args ...string) (int, string, string, string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "r")
		code, stdout, stderr := dagsec(t, append(append([]string{"scan", "--stages", "sast", "--out", out}, args...), src)...)
		return code, stdout, stderr, out
	}

	code, stdout, stderr, out := scan()
	if code != 0 || !strings.Contains(stdout, "sast        warned") {
		t.Fatalf("without --fail-on: exit %d, want 0 (warned)\n%s\n%s", code, stdout, stderr)
	}
	summary, err := os.ReadFile(filepath.Join(out, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "**sast** blocks on critical, but what ran there (gosec) reports at most high"; strings.Count(string(summary), want) != 1 {
		t.Errorf("summary.md does not say once that the sast gate is out of reach:\n%s", summary)
	}

	code, stdout, stderr, out = scan("--fail-on", "high")
	if code != 1 || !strings.Contains(stdout, "sast        blocked") || !strings.Contains(stdout, "main.go:10 G402") {
		t.Fatalf("--fail-on high: exit %d, want 1 with the finding\n%s\n%s", code, stdout, stderr)
	}
	summary, _ = os.ReadFile(filepath.Join(out, "summary.md"))
	if bytes.Contains(summary, []byte("cannot reach")) || !bytes.Contains(summary, []byte("with --fail-on high")) {
		t.Errorf("summary.md under --fail-on high:\n%s", summary)
	}

	if code, _, stderr, _ = scan("--fail-on", "high", "--exit-code", "3"); code != 3 {
		t.Errorf("--exit-code 3: exit %d\n%s", code, stderr)
	}
	for _, bad := range [][]string{{"--exit-code", "2"}, {"--exit-code", "-1"}, {"--fail-on", "severe"}, {"--format", "pdf"}} {
		if code, _, stderr, _ := scan(bad...); code != 2 || !strings.Contains(stderr, bad[0]) {
			t.Errorf("%v: exit %d, want 2 naming the flag: %s", bad, code, stderr)
		}
	}

	for format, file := range map[string]string{"json": "report.json", "markdown": "summary.md"} {
		code, stdout, stderr, out = scan("--fail-on", "high", "--format", format)
		want, _ := os.ReadFile(filepath.Join(out, file))
		if code != 1 || stdout != string(want) || len(want) == 0 {
			t.Errorf("--format %s: exit %d; stdout is not %s:\n%s", format, code, file, stdout)
		}
		// The stage lines and findings move to stderr, out of the report's way.
		if !strings.Contains(stderr, "sast        blocked") || !strings.Contains(stderr, "G402") {
			t.Errorf("--format %s: stderr lacks the results:\n%s", format, stderr)
		}
	}
	code, stdout, _, _ = scan("-q", "--format", "sarif")
	if code != 0 || !strings.HasPrefix(stdout, "{") || !strings.Contains(stdout, `"ruleId": "G402"`) {
		t.Errorf("-q --format sarif: exit %d:\n%s", code, stdout)
	}
}
