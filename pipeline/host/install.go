// Package host runs pipeline steps with tools on this machine instead of in
// containers: for pre-commit hooks, machines without a container engine, and
// tests. It builds the pinned Go tools from the Go module proxy on demand.
package host

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dagsec/dagsec/stages"
)

// ToolsDirEnv overrides where pinned tools are kept.
const ToolsDirEnv = "DAGSEC_TOOLS_DIR"

// DefaultToolsDir is $DAGSEC_TOOLS_DIR, else the user cache folder's dagsec/tools.
func DefaultToolsDir() string {
	if d := os.Getenv(ToolsDirEnv); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "dagsec", "tools")
	}
	return filepath.Join(os.TempDir(), "dagsec-tools")
}

// Installer builds pinned tools into Dir/<name>@<version>/<name>, so a cache
// keyed by folder name holds every version ever used and a pin change
// builds afresh.
type Installer struct {
	Dir      string
	Progress io.Writer // build progress; nil discards it
	Go       string    // go binary; empty means "go" from PATH
}

// Path is where a tool's pinned binary lives.
func (i *Installer) Path(t stages.Tool) string {
	return filepath.Join(i.Dir, t.Name+"@"+t.Version, t.Name)
}

// Installed reports whether the pinned binary is present.
func (i *Installer) Installed(t stages.Tool) bool {
	st, err := os.Stat(i.Path(t))
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// Ensure returns the pinned binary, building it first when it is missing.
// It is idempotent and safe to run from two processes: the build lands under
// a temporary name and is renamed into place.
func (i *Installer) Ensure(ctx context.Context, t stages.Tool) (string, error) {
	dst := i.Path(t)
	if i.Installed(t) {
		return dst, nil
	}
	// Runs scanning at once (a fleet) may need the same tool: one builds it.
	mu, _ := building.LoadOrStore(dst, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	if i.Installed(t) {
		return dst, nil
	}
	if t.NPM != "" {
		return i.ensureNPM(ctx, t)
	}
	if t.GoModule == "" {
		return "", fmt.Errorf("%s %s is not a Go tool; install it on PATH", t.Name, t.Version)
	}
	goBin := i.Go
	if goBin == "" {
		p, err := exec.LookPath("go")
		if err != nil {
			return "", fmt.Errorf("building %s %s needs Go on PATH: %w", t.Name, t.Version, err)
		}
		goBin = p
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("tools folder: %w", err)
	}
	work, err := os.MkdirTemp("", "dagsec-build-"+t.Name+"-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)

	i.say("dagsec: building %s %s from the Go module proxy into %s (first use only)\n", t.Name, t.Version, filepath.Dir(dst))
	start := time.Now()
	tmp := dst + fmt.Sprintf(".tmp-%d", os.Getpid())
	ldflags := strings.TrimSpace("-s -w " + t.LDFlags)
	// A throwaway module that requires the tool at its pin: `go install
	// mod@version` needs version listing, which some proxies refuse.
	tools := fmt.Sprintf("//go:build tools\n\npackage tools\n\nimport _ %q\n", t.GoPackage)
	// The go line turns on module graph pruning (without it tidy walks every
	// dependency's history); tidy raises it to what the tool needs.
	mod := fmt.Sprintf("module dagsecbuild/%s\n\ngo 1.22\n\nrequire %s %s\n", t.Name, t.GoModule, t.Version)
	for _, r := range t.GoReplace {
		mod += "\nreplace " + r + "\n"
	}
	for name, body := range map[string]string{"tools.go": tools, "go.mod": mod} {
		if err := os.WriteFile(filepath.Join(work, name), []byte(body), 0o644); err != nil {
			return "", err
		}
	}
	steps := [][]string{
		{goBin, "mod", "tidy"},
		{goBin, "build", "-trimpath", "-ldflags=" + ldflags, "-o", tmp, t.GoPackage},
	}
	for _, argv := range steps {
		if err := i.run(ctx, work, t, argv); err != nil {
			os.Remove(tmp)
			return "", fmt.Errorf("building %s %s: %s: %w", t.Name, t.Version, strings.Join(argv[1:3], " "), err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("installing %s: %w", t.Name, err)
	}
	i.say("dagsec: built %s %s in %s\n", t.Name, t.Version, time.Since(start).Round(time.Second))
	return dst, nil
}

// Buildable reports whether Ensure can install a tool here: a Go tool, or
// an npm tool where npm is on PATH.
func (i *Installer) Buildable(t stages.Tool) bool {
	if t.NPM != "" {
		_, err := exec.LookPath("npm")
		return err == nil
	}
	return t.GoModule != ""
}

// ensureNPM installs an npm tool from its committed package.json and
// package-lock.json with `npm ci` (exact versions and integrity hashes, no
// install scripts) into a fresh folder, renamed into place when complete.
func (i *Installer) ensureNPM(ctx context.Context, t stages.Tool) (string, error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("installing %s %s needs npm (Node.js) on PATH: %w", t.Name, t.Version, err)
	}
	home := filepath.Dir(i.Path(t))
	if err := os.MkdirAll(i.Dir, 0o755); err != nil {
		return "", fmt.Errorf("tools folder: %w", err)
	}
	work, err := os.MkdirTemp(i.Dir, "."+t.Name+"-install-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if err := os.Chmod(work, 0o755); err != nil {
		return "", err
	}
	for name, data := range stages.NPMFiles(t) {
		if err := os.WriteFile(filepath.Join(work, name), data, 0o644); err != nil {
			return "", err
		}
	}
	i.say("dagsec: installing %s %s from npm into %s (first use only)\n", t.Name, t.Version, home)
	start := time.Now()
	if err := i.run(ctx, work, t, []string{npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--omit=dev"}); err != nil {
		return "", fmt.Errorf("installing %s %s: npm ci: %w", t.Name, t.Version, err)
	}
	if err := os.Symlink(t.NPMBin, filepath.Join(work, t.Name)); err != nil {
		return "", err
	}
	os.RemoveAll(home) // a half-installed folder from an interrupted run
	if err := os.Rename(work, home); err != nil {
		return "", fmt.Errorf("installing %s: %w", t.Name, err)
	}
	i.say("dagsec: installed %s %s in %s\n", t.Name, t.Version, time.Since(start).Round(time.Second))
	return i.Path(t), nil
}

func (i *Installer) run(ctx context.Context, dir string, t stages.Tool, argv []string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	cmd.Env = append(cmd.Env, t.BuildEnv...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var last []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			last = append(last, line)
			if len(last) > 20 {
				last = last[1:]
			}
			i.say("  %s: %s\n", t.Name, line)
		}
	}()
	err := cmd.Run()
	pw.Close()
	<-done
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(last) > 0 {
			return fmt.Errorf("%w\n%s", err, strings.Join(last, "\n"))
		}
		return err
	}
	return nil
}

func (i *Installer) say(format string, args ...any) {
	if i.Progress != nil {
		fmt.Fprintf(i.Progress, format, args...)
	}
}

// building holds a lock per tool path while it is built.
var building sync.Map
