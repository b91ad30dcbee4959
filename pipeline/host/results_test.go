package host_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/stages"
)

// The result cache gives back an earlier run when nothing the step depends
// on changed, and runs the tool again when anything did: a file it reads,
// its arguments, its version, the vulnerability database. A file it does
// not read changes nothing. The tool here counts its runs in a file.
func TestResultCacheKeys(t *testing.T) {
	counter := filepath.Join(t.TempDir(), "runs")
	script := `out=""; while [ $# -gt 0 ]; do [ "$1" = "--report-path" ] && out="$2"; shift; done
n=$(cat ` + counter + ` 2>/dev/null || echo 0); echo $((n+1)) > ` + counter + `; printf '[]' > "$out"`
	inst := testenv.FakeTools(t, "gitleaks", script)
	src := testenv.Dir(t, map[string]string{"mod/a.go": "package a\n", "other/b.go": "package b\n"})
	db := t.TempDir()
	if err := os.WriteFile(filepath.Join(db, stages.VulnDBVersionFile), []byte("v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := host.NewRunner(src, inst)
	if err != nil {
		t.Fatal(err)
	}
	r.AllowPATH, r.ResultsDir, r.DBDir = false, t.TempDir(), db
	base := step("out.json")
	base.Reads, base.DB = []string{"mod"}, true
	runs := func() int {
		b, _ := os.ReadFile(counter)
		n, _ := strconv.Atoi(string(b[:max(len(b)-1, 0)]))
		return n
	}
	run := func(name string, st stages.Step, wantRun bool) {
		t.Helper()
		before := runs()
		res, err := r.Run(context.Background(), st)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ran := runs() > before
		if ran != wantRun || (!ran && res.CachedAt.IsZero()) || (ran && !res.CachedAt.IsZero()) {
			t.Errorf("%s: ran %v (cached at %v), want ran %v", name, ran, res.CachedAt, wantRun)
		}
		if string(res.Report) != "[]" || res.ExitCode != 0 {
			t.Errorf("%s: result %q exit %d", name, res.Report, res.ExitCode)
		}
	}
	run("first", base, true)
	run("again", base, false)
	if err := os.WriteFile(filepath.Join(src, "other/b.go"), []byte("package b // changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The runner hashes a file once a run; a new runner sees the change.
	r2 := func() {
		t.Helper()
		nr, err := host.NewRunner(src, inst)
		if err != nil {
			t.Fatal(err)
		}
		nr.AllowPATH, nr.ResultsDir, nr.DBDir = false, r.ResultsDir, db
		r = nr
	}
	r2()
	run("a file it does not read changed", base, false)
	if err := os.WriteFile(filepath.Join(src, "mod/a.go"), []byte("package a // changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r2()
	run("a file it reads changed", base, true)
	args := base
	args.Argv = append(append([]string{}, base.Argv...), "--redact")
	run("other arguments", args, true)
	v := base
	v.Version = "v8.30.2"
	run("another version", v, true)
	if err := os.WriteFile(filepath.Join(db, stages.VulnDBVersionFile), []byte("v2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("a new database", base, true)
	run("and then cached", base, false)
	// A result the pipeline rejected is run again.
	res, err := r.Run(context.Background(), base)
	if err != nil || res.CacheKey == "" {
		t.Fatalf("cached result without its key: %v", err)
	}
	r.Forget(res)
	run("forgotten", base, true)
	// A tool rewritten in place (same path, same size, maybe the same
	// modification time) is another tool.
	tl, _ := stages.LookupTool("gitleaks")
	bin := inst.Path(tl)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, bytes.Replace(b, []byte("echo 0"), []byte("echo 1"), 1), 0o755); err != nil {
		t.Fatal(err)
	}
	run("a rewritten tool", base, true)
	// A step's prepare steps (go mod download before syft) are part of
	// what its result depends on.
	prepare := func(extra ...string) []stages.Step {
		return []stages.Step{{Name: "secrets/prepare", Tool: "gitleaks", Version: base.Version, Image: "img",
			Argv: append([]string{"gitleaks", "--report-path", "/dev/null"}, extra...), OKCodes: []int{0}, Timeout: 10 * time.Second}}
	}
	prep := base
	prep.Prepare = prepare()
	run("with a prepare step", prep, true)
	run("with a prepare step, again", prep, false)
	prep.Prepare = prepare("--redact")
	run("another prepare step", prep, true)
	// A result that depends on outside services (trufflehog verifying
	// secrets) is never reused.
	live := base
	live.Live = true
	run("live results are never cached", live, true)
	run("live results are never cached, again", live, true)
	git := base
	git.NeedsGit = true
	run("history scans are never cached", git, true)
	run("history scans are never cached, again", git, true)
}

// $DAGSEC_RESULTS_DIR places the result cache; without it the cache is
// beside the tools folder.
func TestResultsDirFollowsItsVariable(t *testing.T) {
	tools := filepath.Join(t.TempDir(), "cache", "tools")
	t.Setenv(host.ResultsDirEnv, "")
	if got, want := host.ResultsDir(tools), filepath.Join(filepath.Dir(tools), "results"); got != want {
		t.Errorf("ResultsDir = %s, want %s", got, want)
	}
	t.Setenv(host.ResultsDirEnv, "/ci/cache/dagsec-results")
	if got := host.ResultsDir(tools); got != "/ci/cache/dagsec-results" {
		t.Errorf("ResultsDir with %s set = %s", host.ResultsDirEnv, got)
	}
}

// The result cache stays within its bound: storing past it removes the
// least recently used results, and the newest stays cached.
func TestResultCacheStaysWithinItsBound(t *testing.T) {
	inst := testenv.FakeTools(t, "gitleaks", `out=""; while [ $# -gt 0 ]; do [ "$1" = "--report-path" ] && out="$2"; shift; done; printf '[]' > "$out"`)
	src := testenv.Dir(t, map[string]string{"a.go": "package a\n"})
	r, err := host.NewRunner(src, inst)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 4096
	r.AllowPATH, r.ResultsDir, r.ResultsMaxBytes = false, t.TempDir(), limit
	size := func() int64 {
		var n int64
		filepath.WalkDir(r.ResultsDir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				fi, _ := d.Info()
				n += fi.Size()
			}
			return nil
		})
		return n
	}
	var last stages.Step
	for i := range 30 {
		last = step("out.json")
		last.Argv = append(last.Argv, "--log-opts", strconv.Itoa(i)) // another key each time
		if _, err := r.Run(context.Background(), last); err != nil {
			t.Fatal(err)
		}
		if n := size(); n > limit {
			t.Fatalf("after %d results the cache holds %d bytes, over its %d", i+1, n, limit)
		}
	}
	res, err := r.Run(context.Background(), last)
	if err != nil || res.CachedAt.IsZero() {
		t.Errorf("the newest result is not cached: %v", err)
	}
}
