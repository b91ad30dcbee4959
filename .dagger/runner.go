package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"dagger/dagsec/internal/dagger"

	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/stages"
)

// Fixed container paths the step placeholders expand to.
const (
	srcPath   = "/src"
	inPath    = "/dagsec/in"
	outPath   = "/dagsec/out"
	cachePath = "/dagsec/cache"
	dbPath    = "/dagsec/db"
)

// Go toolchain caches of UsesGo steps, as cache volume names under cachePath.
const (
	goModCache   = "go-mod"
	goBuildCache = "go-build"
)

// defaultDBRefresh applies to a step with a DBUpdate but no DBRefresh.
const defaultDBRefresh = 24 * time.Hour

// daggerRunner executes steps in containers over a Dagger directory.
type daggerRunner struct {
	source *dagger.Directory
	// images maps a tool name to a mirror image that replaces Step.Image.
	images map[string]string
	// vulnDB is the caller's vulnerability database, mounted at dbPath for
	// steps that read it; nil when none was given.
	vulnDB *dagger.Directory
	engine

	listOnce sync.Once
	listing  []string
	listErr  error
}

var _ pipeline.Runner = (*daggerRunner)(nil)

// Kind names this runner in reports.
func (r *daggerRunner) Kind() string { return "dagger" }

// Exists reports whether rel names a file or folder inside the source. The
// engine resolves symlinks inside the directory, so none can leave it.
func (r *daggerRunner) Exists(ctx context.Context, rel string) (bool, error) {
	clean, err := stages.CleanRel(rel)
	if err != nil {
		return false, err
	}
	ok, err := r.source.Exists(ctx, clean)
	if err != nil {
		return false, fmt.Errorf("checking %s in the source: %w", clean, err)
	}
	return ok, nil
}

// Glob lists the source's files matching a doublestar pattern, sorted, as
// the host runner does: folders and anything under .git are left out. The
// source is listed once per run and matched with stages.MatchGlob, so both
// runners answer alike (a root-level Dockerfile matches **/Dockerfile).
func (r *daggerRunner) Glob(ctx context.Context, pattern string) ([]string, error) {
	r.listOnce.Do(func() { r.listing, r.listErr = r.list(ctx) })
	if r.listErr != nil {
		return nil, r.listErr
	}
	var out []string
	for _, e := range r.listing {
		if stages.MatchGlob(pattern, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// list returns every file of the source, sorted.
func (r *daggerRunner) list(ctx context.Context) ([]string, error) {
	var out []string
	for _, all := range []string{"*", "**/*"} {
		entries, err := r.source.Glob(ctx, all)
		if err != nil {
			return nil, fmt.Errorf("listing the source: %w", err)
		}
		for _, e := range entries {
			// The engine marks folders with a trailing slash.
			if strings.HasSuffix(e, "/") {
				continue
			}
			e = strings.TrimPrefix(e, "./")
			if slices.Contains(strings.Split(e, "/"), ".git") {
				continue
			}
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// ReadFile reads a regular file of the source, refusing one larger than
// stages.MaxReportBytes before reading it.
func (r *daggerRunner) ReadFile(ctx context.Context, rel string) ([]byte, error) {
	clean, err := stages.CleanRel(rel)
	if err != nil {
		return nil, err
	}
	return readFile(ctx, r.source, clean)
}

// HasTool is true for every pinned tool: each runs from its image.
func (r *daggerRunner) HasTool(_ context.Context, tool string) bool {
	_, ok := stages.LookupTool(tool)
	return ok
}

// readFile reads a regular file of dir, size-checked first. A missing file
// is an error wrapping fs.ErrNotExist.
func readFile(ctx context.Context, dir *dagger.Directory, rel string) ([]byte, error) {
	ok, err := dir.Exists(ctx, rel, dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeRegularType})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	if !ok {
		return nil, fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
	}
	f := dir.File(rel)
	size, err := f.Size(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	if size > stages.MaxReportBytes {
		return nil, fmt.Errorf("%s is %d bytes, over the %d byte limit", rel, size, stages.MaxReportBytes)
	}
	data, err := f.Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	return []byte(data), nil
}

// Run executes one step: the tool's image (with its install commands), the
// source mounted read-only, inputs and an empty output folder written into
// the container, the report read back from it. The timeout covers the
// database update and the tool, not preparing the image, as on the host.
func (r *daggerRunner) Run(ctx context.Context, step stages.Step) (stages.StepResult, error) {
	if err := step.Validate(); err != nil {
		return stages.StepResult{}, err
	}
	image := r.imageFor(step)
	if step.DB && r.vulnDB == nil {
		return stages.StepResult{}, fmt.Errorf("step %s needs a local vulnerability database and none was given (pass --vuln-db)", step.Name)
	}
	ctr, user, err := r.prepare(ctx, step, image)
	if err != nil {
		return stages.StepResult{}, err
	}
	if step.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, step.Timeout)
		defer cancel()
	}
	start := time.Now()
	if err := r.runPrepare(ctx, step); err != nil {
		return stages.StepResult{Duration: time.Since(start), Image: image}, err
	}
	res, err := r.run(ctx, step, image, ctr, user)
	res.Duration, res.Image = time.Since(start), image
	if need := step.NetworkNeed(); need != "" {
		res.Network = "needed: " + need
	} else {
		// Said in the report rather than implied: the engine's API has no
		// way to run one exec without a network.
		res.Network = "not isolated: Dagger v0.21 has no per-exec network switch"
	}
	if err != nil && ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && step.Timeout > 0 {
			return res, fmt.Errorf("timed out after %s", step.Timeout)
		}
		return res, fmt.Errorf("cancelled: %w", ctx.Err())
	}
	return res, err
}

// imageFor is the image a step runs in: the policy's mirror of its tool's
// image, else the step's own.
func (r *daggerRunner) imageFor(step stages.Step) string {
	if img := r.images[step.Tool]; img != "" {
		return img
	}
	return step.Image
}

// runPrepare runs the step's Prepare steps, each in a container of its own
// tool's image; they share the step's cache volumes (the go-mod cache a
// `go mod download` fills for syft).
func (r *daggerRunner) runPrepare(ctx context.Context, step stages.Step) error {
	for _, p := range step.Prepare {
		image := r.imageFor(p)
		ctr, user, err := r.prepare(ctx, p, image)
		if err != nil {
			return fmt.Errorf("preparing (%s): %w", p.Name, err)
		}
		res, err := r.run(ctx, p, image, ctr, user)
		if err == nil && p.Classify(res.ExitCode) != stages.OutcomeClean {
			err = fmt.Errorf("exited with code %d: %s", res.ExitCode, res.Stderr)
		}
		if err != nil {
			return fmt.Errorf("preparing (%s): %w", p.Name, err)
		}
	}
	return nil
}

// prepare pulls the image and runs the tool's install commands, before the
// source is mounted so that layer is cached across sources. It returns the
// image's user, who must be able to write the report and the caches.
func (r *daggerRunner) prepare(ctx context.Context, step stages.Step, image string) (*dagger.Container, string, error) {
	ctr := dag.Container().From(image)
	user, err := ctr.User(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("image %s: %w", image, err)
	}
	if t, ok := stages.LookupTool(step.Tool); ok && len(t.Install) > 0 {
		// The tool's pinned files (an npm lockfile) before the commands
		// that install from them, sorted so the layer is cached.
		for _, name := range slices.Sorted(maps.Keys(t.InstallFiles)) {
			ctr = ctr.WithNewFile(t.ImageHome+"/"+name, string(t.InstallFiles[name]))
		}
		for _, cmd := range t.Install {
			ctr = ctr.WithExec([]string{"sh", "-c", cmd})
		}
		if ctr, err = ctr.Sync(ctx); err != nil {
			return nil, "", fmt.Errorf("installing %s on %s: %w", step.Tool, image, err)
		}
	}
	return ctr, user, nil
}

func (r *daggerRunner) run(ctx context.Context, step stages.Step, image string, ctr *dagger.Container, user string) (stages.StepResult, error) {
	var res stages.StepResult
	paths := stages.Paths{Source: srcPath, Input: inPath, Output: outPath, Cache: cachePath}
	if t, ok := stages.LookupTool(step.Tool); ok {
		paths.ToolHome = t.ImageHome
	}
	if step.DB {
		paths.DB = dbPath
	}
	src, err := r.stepSource(ctx, step)
	if err != nil {
		return res, fmt.Errorf("step %s: %w", step.Name, err)
	}
	ctr = ctr.
		WithMountedDirectory(srcPath, src, dagger.ContainerWithMountedDirectoryOpts{ReadOnly: true}).
		WithDirectory(outPath, dag.Directory(), dagger.ContainerWithDirectoryOpts{Owner: user})
	if step.DB {
		ctr = ctr.WithMountedDirectory(dbPath, r.vulnDB, dagger.ContainerWithMountedDirectoryOpts{ReadOnly: true})
	}
	if step.UsesGo {
		ctr = withCache(ctr, goModCache, user, dagger.CacheSharingModeShared).
			WithEnvVariable("GOMODCACHE", cachePath+"/"+goModCache)
		// GOFLAGS stays the default -mod=readonly: the source is mounted
		// read-only, and missing modules still download into the cache.
		ctr = withCache(ctr, goBuildCache, user, dagger.CacheSharingModeShared).
			WithEnvVariable("GOCACHE", cachePath+"/"+goBuildCache).
			// The Go the module's go.mod selects, as on the host (Go's
			// images default to local).
			WithEnvVariable("GOTOOLCHAIN", "auto")
	}
	if step.GoModCache {
		// The module cache UsesGo steps fill, read by syft.
		ctr = withCache(ctr, goModCache, user, dagger.CacheSharingModeShared)
		paths.GoModCache = cachePath + "/" + goModCache
	}
	// Database caches are locked: parallel scans take turns updating them.
	for _, c := range step.Caches {
		ctr = withCache(ctr, c, user, dagger.CacheSharingModeLocked)
	}

	// Sorted so the same step always builds the same container (cache hits).
	for _, name := range slices.Sorted(maps.Keys(step.Inputs)) {
		clean, err := stages.CleanRel(name)
		if err != nil {
			return res, fmt.Errorf("step %s: input: %w", step.Name, err)
		}
		ctr = ctr.WithNewFile(inPath+"/"+clean, string(step.Inputs[name]))
	}

	if step.NeedsImage {
		tar, err := r.imageTarball()
		if err != nil {
			return res, fmt.Errorf("step %s: %w", step.Name, err)
		}
		ctr, paths.Image = ctr.WithMountedFile(imagePath, tar), imagePath
	}
	if step.NeedsTarget {
		r.mu.Lock()
		svc := r.service
		r.mu.Unlock()
		if svc != nil {
			ctr = ctr.WithServiceBinding(stagingAlias, svc)
		}
	}
	if ctr, err = r.withSecretEnv(ctr, step.SecretEnv); err != nil {
		return res, fmt.Errorf("step %s: %w", step.Name, err)
	}
	for _, name := range slices.Sorted(maps.Keys(step.SecretFiles)) {
		clean, err := stages.CleanRel(name)
		if err != nil {
			return res, fmt.Errorf("step %s: secret file: %w", step.Name, err)
		}
		sec, ok := r.secrets[step.SecretFiles[name]]
		if !ok {
			return res, fmt.Errorf("step %s: secret %q was not given", step.Name, step.SecretFiles[name])
		}
		ctr = ctr.WithMountedSecret(inPath+"/"+clean, sec, dagger.ContainerWithMountedSecretOpts{Owner: user})
	}

	argv, env := step.ExpandCommand(paths, imageBinary(step))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		ctr = ctr.WithEnvVariable(k, env[k])
	}
	res.Workdir = step.Dir(paths)
	ctr = ctr.WithWorkdir(res.Workdir)

	if len(step.DBUpdate) > 0 {
		var err error
		if ctr, err = r.updateDB(ctx, ctr, step, paths); err != nil {
			return res, err
		}
	} else if step.DBRefresh > 0 {
		// The tool reads an online database itself (govulncheck without a
		// local one, semgrep's registry rules): rerun it once per period
		// instead of serving a cached result forever.
		ctr = ctr.WithEnvVariable("DAGSEC_DB_EPOCH", dbEpoch(step.DBRefresh))
	}

	opts := dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny}
	if step.StdoutReport {
		opts.RedirectStdout = path.Join(outPath, step.Report)
	}
	// Sync runs the tool once; the queries below then name the result by ID
	// instead of resending the whole container definition.
	ctr, err = ctr.WithExec(argv, opts).Sync(ctx)
	if err != nil {
		return res, fmt.Errorf("running %s in %s: %w", step.Tool, image, err)
	}
	code, stderr, err := exitAndOutput(ctx, ctr, !step.StdoutReport)
	if err != nil {
		return res, fmt.Errorf("%s: %w", step.Tool, err)
	}
	res.ExitCode, res.Stderr = code, stderr
	if len(step.DBInfo) > 0 {
		res.DBInfo = dbInfo(ctx, ctr, step, paths)
	}

	out := ctr.Directory(outPath)
	for _, a := range step.Artifacts {
		data, err := readFile(ctx, out, a)
		if err != nil {
			return res, fmt.Errorf("output %w", err)
		}
		if res.Artifacts == nil {
			res.Artifacts = map[string][]byte{}
		}
		res.Artifacts[a] = data
	}
	if step.Report == "" {
		return res, nil
	}
	data, err := readFile(ctx, out, step.Report)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		res.ReportMissing = true
	case err != nil:
		return res, fmt.Errorf("reading report %w", err)
	default:
		res.Report = data
	}
	return res, nil
}

// stepSource is the part of the source a step reads (stages.Step.Reads), at
// the same paths: the engine keys the step's cache on its content, so a
// tool whose inputs did not change is not run again.
func (r *daggerRunner) stepSource(ctx context.Context, step stages.Step) (*dagger.Directory, error) {
	if len(step.Reads) == 0 {
		return r.source, nil
	}
	out := dag.Directory()
	for _, p := range step.Reads {
		var exclude []string
		for _, e := range step.ReadsExcept {
			if p == "." {
				exclude = append(exclude, e)
			} else if rest, ok := strings.CutPrefix(e, p+"/"); ok {
				exclude = append(exclude, rest)
			}
		}
		if p == "." {
			out = out.WithDirectory(".", r.source, dagger.DirectoryWithDirectoryOpts{Exclude: exclude})
			continue
		}
		clean, err := stages.CleanRel(p)
		if err != nil {
			return nil, err
		}
		isDir, err := r.source.Exists(ctx, clean, dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeDirectoryType})
		if err != nil {
			return nil, fmt.Errorf("checking %s: %w", clean, err)
		}
		if isDir {
			out = out.WithDirectory(clean, r.source.Directory(clean), dagger.DirectoryWithDirectoryOpts{Exclude: exclude})
			continue
		}
		isFile, err := r.source.Exists(ctx, clean, dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeRegularType})
		if err != nil {
			return nil, fmt.Errorf("checking %s: %w", clean, err)
		}
		if isFile {
			out = out.WithFile(clean, r.source.File(clean))
		}
	}
	return out, nil
}

// imageBinary is argv[0] in the tool's image: its name, or its path where
// the image keeps it off PATH.
func imageBinary(step stages.Step) string {
	if t, ok := stages.LookupTool(step.Tool); ok && t.ImageBinary != "" {
		return t.ImageBinary
	}
	return step.Argv[0]
}

// dbInfo runs the step's DBInfo command after the tool and keeps its
// stdout; a failure only leaves the database unnamed in the report.
func dbInfo(ctx context.Context, ctr *dagger.Container, step stages.Step, paths stages.Paths) []byte {
	out, err := ctr.WithExec(step.ExpandDBInfo(paths, imageBinary(step))).Stdout(ctx)
	if err != nil || len(out) > stages.MaxDBInfoBytes {
		return nil
	}
	return []byte(out)
}

// dbEpoch numbers the refresh period now falls in.
func dbEpoch(refresh time.Duration) string {
	period := max(int64(refresh/time.Second), 1)
	return strconv.FormatInt(time.Now().Unix()/period, 10)
}

// updateDB runs the step's database update in its container before the
// tool. DAGSEC_DB_EPOCH changes once per refresh period, so the engine's
// cache reruns the update only then.
func (r *daggerRunner) updateDB(ctx context.Context, ctr *dagger.Container, step stages.Step, paths stages.Paths) (*dagger.Container, error) {
	refresh := step.DBRefresh
	if refresh <= 0 {
		refresh = defaultDBRefresh
	}
	ctr, err := ctr.
		WithEnvVariable("DAGSEC_DB_EPOCH", dbEpoch(refresh)).
		WithExec(step.ExpandUpdate(paths, imageBinary(step)), dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny}).
		Sync(ctx)
	if err != nil {
		return nil, fmt.Errorf("updating the vulnerability database: %w", err)
	}
	code, stderr, err := exitAndOutput(ctx, ctr, true)
	if err != nil {
		return nil, fmt.Errorf("updating the vulnerability database: %w", err)
	}
	if !step.UpdateOK(code) {
		return nil, fmt.Errorf("updating the vulnerability database: exited with code %d: %s", code, stderr)
	}
	return ctr, nil
}

// exitAndOutput returns the last exec's exit code and the tail of its
// stderr, or of its stdout when stderr is empty and stdout may be read.
func exitAndOutput(ctx context.Context, ctr *dagger.Container, stdout bool) (int, string, error) {
	code, err := ctr.ExitCode(ctx)
	if err != nil {
		return 0, "", fmt.Errorf("exit code: %w", err)
	}
	stderr, err := ctr.Stderr(ctx)
	if err != nil {
		return code, "", fmt.Errorf("reading stderr: %w", err)
	}
	tail := stages.Tail(stderr, 2000)
	if tail == "" && stdout {
		out, err := ctr.Stdout(ctx)
		if err != nil {
			return code, "", fmt.Errorf("reading stdout: %w", err)
		}
		tail = stages.Tail(out, 2000)
	}
	return code, tail, nil
}

// withCache mounts the dagsec-<name> cache volume at cachePath/<name>,
// owned by the image's user. A volume is owned once, when created, so a
// non-root user gets volumes of its own.
func withCache(ctr *dagger.Container, name, user string, sharing dagger.CacheSharingMode) *dagger.Container {
	key := "dagsec-" + name
	if u, _, _ := strings.Cut(user, ":"); u != "" && u != "root" && u != "0" {
		key += "-" + strings.NewReplacer(":", "-", "/", "-").Replace(user)
	}
	return ctr.WithMountedCache(cachePath+"/"+name, dag.CacheVolume(key),
		dagger.ContainerWithMountedCacheOpts{Owner: user, Sharing: sharing})
}
