package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dagsec/dagsec/stages"
)

// Runner executes steps with local binaries over a source folder.
type Runner struct {
	source    string
	installer *Installer
	// AutoInstall builds a missing pinned Go tool on first use.
	AutoInstall bool
	// AllowPATH falls back to a tool found on PATH when no pinned binary is
	// available; the report then records it as unpinned.
	AllowPATH bool

	mu       sync.Mutex
	resolved map[string]*resolvedTool
}

type resolvedTool struct {
	once          sync.Once
	path, version string
	err           error
}

// NewRunner makes a runner for the source folder, which must exist.
func NewRunner(source string, inst *Installer) (*Runner, error) {
	abs, err := filepath.Abs(source)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", source, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", source, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("source %s is not a folder", source)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	return &Runner{source: abs, installer: inst, AutoInstall: true, AllowPATH: true, resolved: map[string]*resolvedTool{}}, nil
}

// Kind names this runner in reports.
func (r *Runner) Kind() string { return "host" }

// Source is the absolute source folder.
func (r *Runner) Source() string { return r.source }

// Exists reports whether rel names a file or folder inside the source; a
// path that leaves the source, directly or through a symlink, is an error.
func (r *Runner) Exists(_ context.Context, rel string) (bool, error) {
	p := filepath.Join(r.source, filepath.FromSlash(rel))
	if !within(r.source, p) {
		return false, fmt.Errorf("%s is outside the source", rel)
	}
	real, err := filepath.EvalSymlinks(p)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !within(r.source, real) {
		return false, fmt.Errorf("%s is a symlink that points outside the source", rel)
	}
	return true, nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// Tool returns the binary the runner uses for a tool and the version to
// report, building the pinned one if allowed. Concurrent callers share one
// build; the answer holds for the runner's lifetime (one run).
func (r *Runner) Tool(ctx context.Context, name string) (path, version string, err error) {
	r.mu.Lock()
	rt := r.resolved[name]
	if rt == nil {
		rt = &resolvedTool{}
		r.resolved[name] = rt
	}
	r.mu.Unlock()
	rt.once.Do(func() { rt.path, rt.version, rt.err = r.resolve(ctx, name) })
	return rt.path, rt.version, rt.err
}

func (r *Runner) resolve(ctx context.Context, name string) (string, string, error) {
	t, ok := stages.LookupTool(name)
	if !ok {
		return "", "", fmt.Errorf("unknown tool %q", name)
	}
	if r.installer != nil {
		if r.installer.Installed(t) {
			return r.installer.Path(t), "", nil
		}
		if r.AutoInstall && t.GoModule != "" {
			p, err := r.installer.Ensure(ctx, t)
			if err == nil {
				return p, "", nil
			}
			if !r.AllowPATH {
				return "", "", err
			}
			if p, lerr := exec.LookPath(name); lerr == nil {
				return p, "unpinned (" + p + ")", nil
			}
			return "", "", err
		}
	}
	if r.AllowPATH {
		if p, err := exec.LookPath(name); err == nil {
			return p, "unpinned (" + p + ")", nil
		}
	}
	return "", "", fmt.Errorf("%s %s is not installed: run `dagsec tools install %s`", t.Name, t.Version, t.Name)
}

// Run executes one step: the tool's binary in place of argv[0], inputs in a
// private folder, the report read back from another, a timeout enforced by
// killing the whole process group.
func (r *Runner) Run(ctx context.Context, step stages.Step) (stages.StepResult, error) {
	if err := step.Validate(); err != nil {
		return stages.StepResult{}, err
	}
	bin, version, err := r.Tool(ctx, step.Tool)
	if err != nil {
		return stages.StepResult{}, err
	}
	tmp, err := os.MkdirTemp("", "dagsec-step-")
	if err != nil {
		return stages.StepResult{}, err
	}
	defer os.RemoveAll(tmp)
	in, out := filepath.Join(tmp, "in"), filepath.Join(tmp, "out")
	for _, d := range []string{in, out} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return stages.StepResult{}, err
		}
	}
	for name, data := range step.Inputs {
		p := filepath.Join(in, filepath.FromSlash(name))
		if !within(in, p) {
			return stages.StepResult{}, fmt.Errorf("step %s: input %q leaves the input folder", step.Name, name)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return stages.StepResult{}, err
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return stages.StepResult{}, err
		}
	}
	argv, env := step.Expand(r.source, in, out)
	argv[0] = bin
	wd := step.Dir(r.source, in, out)

	if step.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, step.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = wd
	cmd.Env = toolEnv(tmp, env)
	stderr := &tailBuffer{max: 4096}
	stdout := &tailBuffer{max: 4096}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	killGroup(cmd)
	cmd.WaitDelay = 5 * time.Second

	start := time.Now()
	runErr := cmd.Run()
	res := stages.StepResult{Duration: time.Since(start), ToolVersion: version}
	res.Stderr = stages.Tail(stderr.String(), 2000)
	if res.Stderr == "" {
		res.Stderr = stages.Tail(stdout.String(), 2000)
	}
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && step.Timeout > 0 {
			return res, fmt.Errorf("timed out after %s", step.Timeout)
		}
		return res, fmt.Errorf("cancelled: %w", ctx.Err())
	}
	var ee *exec.ExitError
	switch {
	case runErr == nil:
		res.ExitCode = 0
	case errors.As(runErr, &ee):
		res.ExitCode = ee.ExitCode()
		if res.ExitCode < 0 {
			return res, fmt.Errorf("killed: %s", ee.String())
		}
	default:
		return res, fmt.Errorf("could not run %s: %w", bin, runErr)
	}
	if step.Report != "" {
		data, err := readReport(filepath.Join(out, filepath.FromSlash(step.Report)))
		switch {
		case errors.Is(err, os.ErrNotExist):
			res.ReportMissing = true
		case err != nil:
			return res, fmt.Errorf("reading report: %w", err)
		default:
			res.Report = data
		}
	}
	return res, nil
}

func readReport(p string) ([]byte, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", filepath.Base(p))
	}
	if st.Size() > stages.MaxReportBytes {
		return nil, fmt.Errorf("%s is %d bytes, over the %d byte limit", filepath.Base(p), st.Size(), stages.MaxReportBytes)
	}
	return os.ReadFile(p)
}

// toolEnv gives tools a small, known environment: no credentials of the
// caller's leak into scanners.
func toolEnv(tmp string, extra map[string]string) []string {
	env := []string{"TMPDIR=" + tmp, "HOME=" + homeOr(tmp), "NO_COLOR=1"}
	for _, k := range []string{"PATH", "LANG", "LC_ALL", "SSL_CERT_FILE", "SSL_CERT_DIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

func homeOr(def string) string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return def
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
