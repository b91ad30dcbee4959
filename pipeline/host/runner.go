package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	// CacheDir holds the caches steps keep between runs (stages.CacheDir);
	// empty means a "cache" folder next to the tools folder.
	CacheDir string
	// DBDir is the local vulnerability database (stages.DBDir), if any.
	DBDir string
	// ResultsDir keeps results of earlier runs (results.go): a step whose
	// inputs did not change is not run again. "" runs every step.
	ResultsDir string
	// ResultsMaxBytes bounds ResultsDir (0: DefaultResultsMaxBytes).
	ResultsMaxBytes int64
	hashes          fileHashes
	resultsSize     resultsSize
	// ImageTar is a saved image tarball standing in for the build stage's
	// image (stages.ImageTar), if any.
	ImageTar string
	// Secrets holds named secrets for steps' SecretEnv and SecretFiles and
	// for deploy steps; their values are removed from tool output.
	Secrets map[string]string

	mu       sync.Mutex
	resolved map[string]*resolvedTool

	listOnce sync.Once
	listing  []string
	links    []string // the listing's symlinks
	listErr  error
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
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		err = pe.Err // the message names the path once
	}
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", source, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("source %s is not a folder", source)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	r := &Runner{source: abs, installer: inst, AutoInstall: true, AllowPATH: true, resolved: map[string]*resolvedTool{}}
	// The scanners run on the host's files and some follow symlinks (bandit
	// and the go command read linked files), so a link out of the source
	// would let them read, and report, what is not the source: refuse it.
	// The walk is the one Glob needs anyway.
	r.listOnce.Do(func() { r.listing, r.listErr = r.list(context.Background()) })
	if r.listErr != nil {
		return nil, fmt.Errorf("source %s: %w", source, r.listErr)
	}
	if out, n := r.outsideLinks(); n > 0 {
		return nil, fmt.Errorf("source %s: %s out of it, which the scanners could follow: %s (remove them, or scan a checkout without them)",
			source, plural(n, "symlink points", "symlinks point"), strings.Join(out, ", "))
	}
	return r, nil
}

// maxListedLinks caps the links an error names.
const maxListedLinks = 5

// outsideLinks lists the source's symlinks ("path -> target") whose target,
// resolved as the kernel would, is not inside the source; a dangling link
// counts by where it points. n counts them all; out names the first few.
func (r *Runner) outsideLinks() (out []string, n int) {
	more := 0
	for _, rel := range r.links {
		p := filepath.Join(r.source, filepath.FromSlash(rel))
		target, err := os.Readlink(p)
		if err != nil {
			continue
		}
		dest := target
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(p), dest)
		}
		if real, err := filepath.EvalSymlinks(p); err == nil {
			dest = real
		}
		if within(r.source, dest) {
			continue
		}
		n++
		if len(out) == maxListedLinks {
			more++
			continue
		}
		out = append(out, rel+" -> "+target)
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("and %d more", more))
	}
	return out, n
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
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

// Glob lists the source's files matching a doublestar pattern. The tree is
// listed once per runner (one run); symlinked folders are not followed, so
// it never leaves the source.
func (r *Runner) Glob(ctx context.Context, pattern string) ([]string, error) {
	r.listOnce.Do(func() { r.listing, r.listErr = r.list(ctx) })
	if r.listErr != nil {
		return nil, r.listErr
	}
	var out []string
	for _, rel := range r.listing {
		if stages.MatchGlob(pattern, rel) {
			out = append(out, rel)
		}
	}
	return out, nil
}

// list walks the source once, skipping .git, and returns its files sorted.
func (r *Runner) list(ctx context.Context) ([]string, error) {
	var out []string
	err := filepath.WalkDir(r.source, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, err := filepath.Rel(r.source, p)
		if err != nil || rel == "." {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		out = append(out, filepath.ToSlash(rel))
		if d.Type()&fs.ModeSymlink != 0 {
			r.links = append(r.links, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the source: %w", err)
	}
	slices.Sort(out)
	return out, nil
}

// ReadFile reads a file inside the source; symlinks may not leave it.
func (r *Runner) ReadFile(ctx context.Context, rel string) ([]byte, error) {
	ok, err := r.Exists(ctx, rel)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s: %w", rel, os.ErrNotExist)
	}
	return readReport(filepath.Join(r.source, filepath.FromSlash(rel)))
}

// toolVersion is the first line a tool prints for --version, "" on failure.
func toolVersion(ctx context.Context, bin string) string {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return line
}

// HasTool reports whether the pinned tool is built, can be built, or is on PATH.
func (r *Runner) HasTool(_ context.Context, name string) bool {
	t, ok := stages.LookupTool(name)
	if !ok {
		return false
	}
	if r.installer != nil && (r.installer.Installed(t) || (r.AutoInstall && r.installer.Buildable(t))) {
		return true
	}
	if t.Toolchain {
		_, err := exec.LookPath(name)
		return err == nil
	}
	if r.AllowPATH || t.Debian != "" {
		_, err := exec.LookPath(name)
		return err == nil
	}
	return false
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
	if t.Toolchain {
		// The machine's own Go, the one the project builds with.
		p, err := exec.LookPath(name)
		if err != nil {
			return "", "", fmt.Errorf("%s is not on PATH: %w", name, err)
		}
		return p, "", nil
	}
	if r.installer != nil {
		if r.installer.Installed(t) {
			return r.installer.Path(t), "", nil
		}
		if r.AutoInstall && r.installer.Buildable(t) {
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
	if t.Debian != "" {
		// A distribution package is pinned by its version, not its path.
		p, err := exec.LookPath(name)
		if err != nil {
			return "", "", fmt.Errorf("%s %s is not installed: apt-get install %s", t.Name, t.Version, t.Debian)
		}
		if v := toolVersion(ctx, p); strings.Contains(v, t.Version) {
			return p, "", nil
		}
		return p, "unpinned (" + p + ")", nil
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
	if r.ResultsDir == "" || !cacheable(step) {
		return r.run(ctx, step, bin, version)
	}
	key, err := r.resultKey(ctx, step, bin, version)
	if err != nil {
		return stages.StepResult{}, fmt.Errorf("step %s: result cache: %w", step.Name, err)
	}
	if res, ok := r.loadResult(key); ok {
		return res, nil
	}
	res, err := r.run(ctx, step, bin, version)
	if err == nil {
		res.CacheKey = key
		if serr := r.storeResult(step, key, res); serr != nil {
			return res, fmt.Errorf("step %s: result cache: %w", step.Name, serr)
		}
	}
	return res, err
}

// run executes one step with the tool's binary bin.
func (r *Runner) run(ctx context.Context, step stages.Step, bin, version string) (stages.StepResult, error) {
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
	for name, secret := range step.SecretFiles {
		p := filepath.Join(in, filepath.FromSlash(name))
		v, ok := r.Secrets[secret]
		switch {
		case !within(in, p):
			return stages.StepResult{}, fmt.Errorf("step %s: secret file %q leaves the input folder", step.Name, name)
		case !ok:
			return stages.StepResult{}, fmt.Errorf("step %s: secret %q was not given", step.Name, secret)
		}
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			return stages.StepResult{}, err
		}
	}
	secrets, err := r.secretEnv(step.SecretEnv)
	if err != nil {
		return stages.StepResult{}, fmt.Errorf("step %s: %w", step.Name, err)
	}
	paths, err := r.paths(step, in, out)
	if err != nil {
		return stages.StepResult{}, err
	}
	argv, env := step.ExpandCommand(paths, bin)
	for k, v := range secrets {
		env[k] = v
	}
	wd := step.Dir(paths)

	if step.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, step.Timeout)
		defer cancel()
	}
	start := time.Now()
	if err := r.prepare(ctx, step, paths, tmp); err != nil {
		return stages.StepResult{Duration: time.Since(start)}, err
	}
	if len(step.DBUpdate) > 0 {
		ures, err := r.exec(ctx, step, step.ExpandUpdate(paths, bin), wd, tmp, env, nil, "the database update")
		if err == nil && !step.UpdateOK(ures.ExitCode) {
			err = fmt.Errorf("exited with code %d: %s", ures.ExitCode, ures.Stderr)
		}
		if err != nil {
			ures.Duration = time.Since(start)
			return ures, fmt.Errorf("updating the vulnerability database: %w", err)
		}
	}
	var stdoutFile *os.File
	var stdout io.Writer // nil, not a nil *os.File, when there is no file
	if step.StdoutReport {
		stdoutFile, err = os.Create(filepath.Join(out, filepath.FromSlash(step.Report)))
		if err != nil {
			return stages.StepResult{}, err
		}
		defer stdoutFile.Close()
		stdout = stdoutFile
	}
	res, err := r.exec(ctx, step, argv, wd, tmp, env, stdout, step.NetworkNeed())
	res.Stderr = redactor(secrets)(res.Stderr)
	res.Duration = time.Since(start)
	res.ToolVersion = version
	res.Workdir = wd
	if err != nil {
		return res, err
	}
	if stdoutFile != nil {
		if err := stdoutFile.Close(); err != nil {
			return res, fmt.Errorf("writing the report: %w", err)
		}
	}
	if len(step.DBInfo) > 0 {
		// A failure only leaves the database unnamed in the report.
		var info bytes.Buffer
		if ires, err := r.exec(ctx, step, step.ExpandDBInfo(paths, bin), wd, tmp, env, &info, step.NetworkNeed()); err == nil && ires.ExitCode == 0 && info.Len() <= stages.MaxDBInfoBytes {
			res.DBInfo = info.Bytes()
		}
	}
	for _, a := range step.Artifacts {
		data, err := readReport(filepath.Join(out, filepath.FromSlash(a)))
		if err != nil {
			return res, fmt.Errorf("output %s: %w", a, err)
		}
		if res.Artifacts == nil {
			res.Artifacts = map[string][]byte{}
		}
		res.Artifacts[a] = data
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

// prepare runs the step's Prepare steps, in order, with their own tools,
// under the step's timeout (already in ctx).
func (r *Runner) prepare(ctx context.Context, step stages.Step, paths stages.Paths, tmp string) error {
	for _, p := range step.Prepare {
		bin, _, err := r.Tool(ctx, p.Tool)
		if err != nil {
			return fmt.Errorf("preparing (%s): %w", p.Name, err)
		}
		argv, env := p.ExpandCommand(paths, bin)
		res, err := r.exec(ctx, p, argv, p.Dir(paths), tmp, env, nil, p.NetworkNeed())
		if err == nil && p.Classify(res.ExitCode) != stages.OutcomeClean {
			err = fmt.Errorf("exited with code %d: %s", res.ExitCode, res.Stderr)
		}
		if err != nil {
			return fmt.Errorf("preparing (%s): %s: %w", p.Name, strings.Join(argv[1:], " "), err)
		}
	}
	return nil
}

// goModCache is the host's Go module cache, as the go command on PATH
// names it in the caller's environment.
func goModCache(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMODCACHE").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		return "", fmt.Errorf("go env GOMODCACHE: %v", err)
	}
	return dir, nil
}

// paths maps the placeholders to this machine's folders.
func (r *Runner) paths(step stages.Step, in, out string) (stages.Paths, error) {
	p := stages.Paths{Source: r.source, Input: in, Output: out, Cache: r.CacheDir, DB: r.DBDir}
	if t, ok := stages.LookupTool(step.Tool); ok && r.installer != nil {
		p.ToolHome = filepath.Dir(r.installer.Path(t))
	}
	if p.Cache == "" {
		base := DefaultToolsDir()
		if r.installer != nil {
			base = r.installer.Dir
		}
		p.Cache = filepath.Join(filepath.Dir(base), "cache")
	}
	for _, c := range step.Caches {
		if err := os.MkdirAll(filepath.Join(p.Cache, c), 0o755); err != nil {
			return p, fmt.Errorf("cache folder: %w", err)
		}
	}
	if step.GoModCache {
		dir, err := goModCache(context.Background())
		if err != nil {
			return p, fmt.Errorf("step %s reads the Go module cache: %w", step.Name, err)
		}
		p.GoModCache = dir
	}
	if step.DB && p.DB == "" {
		return p, fmt.Errorf("step %s needs a local vulnerability database and none was given", step.Name)
	}
	if step.NeedsImage {
		if r.ImageTar == "" {
			return p, fmt.Errorf("step %s reads the built image and no image tarball was given", step.Name)
		}
		abs, err := filepath.Abs(r.ImageTar)
		if err != nil {
			return p, err
		}
		p.Image = abs
	}
	return p, nil
}

// exec runs one command in the step's process group, with its timeout
// already in ctx; stdout goes to out when one is given (the report file).
// need says why the command needs the network ("" cuts it off).
func (r *Runner) exec(ctx context.Context, step stages.Step, argv []string, wd, tmp string, env map[string]string, out io.Writer, need string) (stages.StepResult, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = wd
	cmd.Env = toolEnv(tmp, env, step.UsesGo)
	stderr := &tailBuffer{max: 4096}
	stdout := &tailBuffer{max: 4096}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if out != nil {
		cmd.Stdout = out
	}
	killGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	var res stages.StepResult
	if need != "" {
		res.Network = "needed: " + need
	} else if err := networkIsolation(); err != nil {
		res.Network = "not isolated: " + err.Error()
	} else {
		isolateNetwork(cmd)
		res.Network = "none"
	}

	runErr := cmd.Run()
	if cmd.ProcessState != nil {
		res.PeakMemory = peakMemory(cmd.ProcessState)
	}
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
		return res, fmt.Errorf("could not run %s: %w", argv[0], runErr)
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
func toolEnv(tmp string, extra map[string]string, usesGo bool) []string {
	env := []string{"TMPDIR=" + tmp, "HOME=" + homeOr(tmp), "NO_COLOR=1"}
	keys := []string{"PATH", "LANG", "LC_ALL", "SSL_CERT_FILE", "SSL_CERT_DIR"}
	if usesGo {
		// The Go toolchain's own settings: where modules come from and are
		// kept. None of them is a credential (GOAUTH and netrc stay out).
		keys = append(keys, "GOROOT", "GOPATH", "GOMODCACHE", "GOCACHE", "GOPROXY", "GONOSUMDB", "GONOSUMCHECK",
			"GOPRIVATE", "GONOPROXY", "GOSUMDB", "GOFLAGS", "GOTOOLCHAIN", "GOWORK", "GOEXPERIMENT", "CGO_ENABLED")
	}
	for _, k := range keys {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if _, set := os.LookupEnv("GOTOOLCHAIN"); usesGo && !set {
		// Analyse with the Go the module's go.mod selects (its toolchain
		// line), as `go build` does under Go's default, even where go.env
		// says local: otherwise standard-library findings are about a Go
		// the project does not build with.
		env = append(env, "GOTOOLCHAIN=auto")
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
