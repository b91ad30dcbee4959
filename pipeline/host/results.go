package host

// The host's result cache: a tool run whose inputs did not change is not
// run again. The key is what the Dagger engine's cache keys a step on
// (stages.Step.Reads: the content of what the tool reads), plus what of
// the host the tool also depends on: its binary and version, its command,
// environment and input files, the Go toolchain a Go analyser selects, the
// local vulnerability database, and the refresh period of an online one.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dagsec/dagsec/stages"
)

// ResultsDirEnv names a folder for the result cache instead of the one
// beside the tools folder (a CI cache path, or a test's scratch).
const ResultsDirEnv = "DAGSEC_RESULTS_DIR"

// ResultsDir is where the result cache of a tools folder lives: in
// $DAGSEC_RESULTS_DIR, else beside it (~/.cache/dagsec/results for
// ~/.cache/dagsec/tools).
func ResultsDir(toolsDir string) string {
	if d := os.Getenv(ResultsDirEnv); d != "" {
		return d
	}
	return filepath.Join(filepath.Dir(filepath.Clean(toolsDir)), "results")
}

// resultsVersion changes when a cached result's meaning does.
const resultsVersion = "2"

// DefaultResultsMaxBytes bounds the result cache; the oldest-used results
// go first.
const DefaultResultsMaxBytes = 512 << 20

// cachedResult is what the cache keeps of a run.
type cachedResult struct {
	Version       string            `json:"version"`
	At            time.Time         `json:"at"`
	ExitCode      int               `json:"exit_code"`
	Report        []byte            `json:"report"`
	ReportMissing bool              `json:"report_missing,omitempty"`
	Artifacts     map[string][]byte `json:"artifacts,omitempty"`
	Workdir       string            `json:"workdir"`
	DBInfo        []byte            `json:"db_info,omitempty"`
	Stderr        string            `json:"stderr,omitempty"`
	ToolVersion   string            `json:"tool_version,omitempty"`
	Network       string            `json:"network,omitempty"`
	PeakMemory    int64             `json:"peak_memory,omitempty"`
	DurationMS    int64             `json:"duration_ms"`
}

// cacheable is a step whose result depends only on what the key holds:
// not git history, an image, a running target, secrets or a service.
func cacheable(step stages.Step) bool {
	return !step.Live && !step.NeedsGit && !step.NeedsImage && !step.NeedsTarget && len(step.SecretEnv) == 0 && len(step.SecretFiles) == 0
}

// binaryIdentity names the build of bin: the content of a small file
// (wrappers and scripts are rewritten in place within a clock tick), size
// and modification time of a large one (hashing trivy each run costs more
// than a replaced binary that keeps both).
func binaryIdentity(bin string) string {
	fi, err := os.Stat(bin)
	if err != nil {
		return "missing"
	}
	if fi.Size() <= 1<<20 {
		if b, err := os.ReadFile(bin); err == nil {
			sum := sha256.Sum256(b)
			return "sha256:" + hex.EncodeToString(sum[:])
		}
	}
	return strconv.FormatInt(fi.Size(), 10) + "@" + fi.ModTime().UTC().Format(time.RFC3339Nano)
}

// resultsSize is the result cache's size as this runner knows it: walked
// once, then grown by what it stores, so a store does not walk the cache.
type resultsSize struct {
	mu    sync.Mutex
	known bool
	bytes int64
}

// fileHashes memoizes the source's file digests through a run.
type fileHashes struct {
	mu sync.Mutex
	by map[string]string
}

// resultKey is the cache key of a step run with the binary bin.
func (r *Runner) resultKey(ctx context.Context, step stages.Step, bin, version string) (string, error) {
	h := sha256.New()
	w := func(parts ...string) {
		for _, p := range parts {
			io.WriteString(h, p)
			h.Write([]byte{0})
		}
	}
	w("dagsec-result", resultsVersion, step.Tool, step.Version, version)
	w(bin, binaryIdentity(bin))
	w(step.Argv...)
	w(step.Workdir, step.Report, strconv.FormatBool(step.StdoutReport))
	w(step.Artifacts...)
	w(step.DBUpdate...)
	w(step.DBInfo...)
	for _, p := range step.Prepare {
		w("prepare", p.Tool, p.Version)
		w(p.Argv...)
	}
	for _, k := range slices.Sorted(maps.Keys(step.Env)) {
		w("env", k, step.Env[k])
	}
	for _, k := range slices.Sorted(maps.Keys(step.Inputs)) {
		sum := sha256.Sum256(step.Inputs[k])
		w("input", k, hex.EncodeToString(sum[:]))
	}
	for _, c := range append(slices.Clone(step.OKCodes), step.FindingCodes...) {
		w(strconv.Itoa(c))
	}
	if step.UsesGo {
		// The Go that analyses (the module's toolchain line, GOTOOLCHAIN,
		// GOFLAGS): its standard library is part of the result.
		w("go", r.goEnvOf(ctx, step, "GOVERSION"), os.Getenv("GOFLAGS"), os.Getenv("GOTOOLCHAIN"), os.Getenv("GOWORK"))
	}
	if step.DB {
		stamp, err := os.ReadFile(filepath.Join(r.DBDir, stages.VulnDBVersionFile))
		if err != nil {
			return "", fmt.Errorf("the vulnerability database's %s: %w", stages.VulnDBVersionFile, err)
		}
		w("db", string(stamp))
	}
	if step.DBRefresh > 0 {
		// An online database: one result per refresh period.
		w("epoch", strconv.FormatInt(time.Now().Unix()/max(int64(step.DBRefresh/time.Second), 1), 10))
	}
	files, err := r.readFiles(step)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		sum, err := r.fileHash(f)
		if err != nil {
			return "", err
		}
		w("file", f, sum)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readFiles are the source files a step reads: under step.Reads (the whole
// source when none), not under step.ReadsExcept.
func (r *Runner) readFiles(step stages.Step) ([]string, error) {
	if r.listErr != nil {
		return nil, r.listErr
	}
	under := func(f, dir string) bool { return dir == "." || f == dir || strings.HasPrefix(f, dir+"/") }
	var out []string
	for _, f := range r.listing {
		if len(step.Reads) > 0 && !slices.ContainsFunc(step.Reads, func(d string) bool { return under(f, d) }) {
			continue
		}
		if slices.ContainsFunc(step.ReadsExcept, func(d string) bool { return under(f, d) }) {
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

func (r *Runner) fileHash(rel string) (string, error) {
	r.hashes.mu.Lock()
	if r.hashes.by == nil {
		r.hashes.by = map[string]string{}
	}
	sum, ok := r.hashes.by[rel]
	r.hashes.mu.Unlock()
	if ok {
		return sum, nil
	}
	p := filepath.Join(r.source, filepath.FromSlash(rel))
	fi, err := os.Lstat(p)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", rel, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%o\x00", fi.Mode())
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(p)
		if err != nil {
			return "", fmt.Errorf("hashing %s: %w", rel, err)
		}
		io.WriteString(h, target)
	} else if fi.Mode().IsRegular() {
		f, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("hashing %s: %w", rel, err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("hashing %s: %w", rel, err)
		}
	}
	sum = hex.EncodeToString(h.Sum(nil))
	r.hashes.mu.Lock()
	r.hashes.by[rel] = sum
	r.hashes.mu.Unlock()
	return sum, nil
}

// goEnvOf runs `go env KEY` in the step's folder with the step's Go
// settings, "" when it fails (the key then only misses the value).
func (r *Runner) goEnvOf(ctx context.Context, step stages.Step, key string) string {
	cmd := exec.CommandContext(ctx, "go", "env", key)
	cmd.Dir = step.Dir(stages.Paths{Source: r.source})
	cmd.Env = toolEnv(os.TempDir(), step.Env, true)
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func (r *Runner) resultPath(key string) string {
	return filepath.Join(r.ResultsDir, key[:2], key+".json")
}

// loadResult returns a cached result, refreshing its use time.
func (r *Runner) loadResult(key string) (stages.StepResult, bool) {
	p := r.resultPath(key)
	data, err := os.ReadFile(p)
	if err != nil {
		return stages.StepResult{}, false
	}
	var c cachedResult
	if json.Unmarshal(data, &c) != nil || c.Version != resultsVersion {
		os.Remove(p) // unreadable: gone, the run runs again
		return stages.StepResult{}, false
	}
	now := time.Now()
	os.Chtimes(p, now, now)
	return stages.StepResult{
		ExitCode: c.ExitCode, Report: c.Report, ReportMissing: c.ReportMissing, Artifacts: c.Artifacts,
		Workdir: c.Workdir, DBInfo: c.DBInfo, Stderr: c.Stderr, ToolVersion: c.ToolVersion, Network: c.Network,
		PeakMemory: c.PeakMemory, Duration: time.Duration(c.DurationMS) * time.Millisecond, CachedAt: c.At, CacheKey: key,
	}, true
}

// storeResult keeps a run that ended the way the step expects (an OK or
// findings exit code), then bounds the cache.
func (r *Runner) storeResult(step stages.Step, key string, res stages.StepResult) error {
	if !slices.Contains(step.OKCodes, res.ExitCode) && !slices.Contains(step.FindingCodes, res.ExitCode) {
		return nil
	}
	c := cachedResult{
		Version: resultsVersion, At: time.Now().UTC(), ExitCode: res.ExitCode, Report: res.Report, ReportMissing: res.ReportMissing,
		Artifacts: res.Artifacts, Workdir: res.Workdir, DBInfo: res.DBInfo, Stderr: res.Stderr, ToolVersion: res.ToolVersion,
		Network: res.Network, PeakMemory: res.PeakMemory, DurationMS: res.Duration.Milliseconds(),
	}
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	p := r.resultPath(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	tmp := p + ".tmp-" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return r.pruneResults(int64(len(data)))
}

// Forget drops the cached result res came from or went to: the pipeline
// could not use it (an unreadable report), and a retry runs the tool again.
func (r *Runner) Forget(res stages.StepResult) {
	if r.ResultsDir != "" && res.CacheKey != "" {
		os.Remove(r.resultPath(res.CacheKey))
	}
}

// pruneResults counts a result of stored bytes just written and, when the
// cache is over its bound, removes the least recently used results. The
// cache is walked the first time and when it is over its bound; other
// processes' stores are counted at the next walk.
func (r *Runner) pruneResults(stored int64) error {
	limit := r.ResultsMaxBytes
	if limit <= 0 {
		limit = DefaultResultsMaxBytes
	}
	sz := &r.resultsSize
	sz.mu.Lock()
	defer sz.mu.Unlock()
	if sz.known {
		if sz.bytes += stored; sz.bytes <= limit {
			return nil
		}
	}
	type entry struct {
		path string
		size int64
		used time.Time
	}
	var all []entry
	var total int64
	err := filepath.WalkDir(r.ResultsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || path.Ext(d.Name()) != ".json" {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		all = append(all, entry{p, fi.Size(), fi.ModTime()})
		total += fi.Size()
		return nil
	})
	if err != nil {
		return err
	}
	sz.known, sz.bytes = true, total
	if total <= limit {
		return nil
	}
	sort.Slice(all, func(a, b int) bool { return all[a].used.Before(all[b].used) })
	for _, e := range all {
		if total <= limit*8/10 {
			break
		}
		if os.Remove(e.path) == nil {
			total -= e.size
		}
	}
	sz.bytes = total
	return nil
}
