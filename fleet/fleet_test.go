package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/fleet"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/policies"
)

func TestParseSpec(t *testing.T) {
	for _, c := range []struct{ in, url, ref, err string }{
		{"https://github.com/acme/api", "https://github.com/acme/api", "", ""},
		{"https://github.com/acme/api@main", "https://github.com/acme/api", "main", ""},
		{"https://github.com/acme/api.git@release/1.2", "https://github.com/acme/api.git", "release/1.2", ""},
		{"https://user@git.example.com/acme/api", "https://user@git.example.com/acme/api", "", ""},
		{"https://user@git.example.com/acme/api@v1.0.0", "https://user@git.example.com/acme/api", "v1.0.0", ""},
		{"git@github.com:acme/api.git", "git@github.com:acme/api.git", "", ""},
		{"git@github.com:acme/api.git@0123abc", "git@github.com:acme/api.git", "0123abc", ""},
		{"/srv/clones/api", "/srv/clones/api", "", ""},
		{"./api@main", "./api", "main", ""},
		{"./api@", "", "", "empty ref"},
		// A secret in a URL would be printed and written into every report:
		// refused, and the error does not repeat it (xxxxxxxx, s3cr3t; x's
		// keep dagsec's own secret scan quiet about this file).
		{"https://x-access-token:xxxxxxxx@github.com/acme/api@main", "", "", `"https://x-access-token:***@github.com/acme/api@main": a repository URL holds a credential`},
		{"https://user:xxxxxxxx@git.example.com", "", "", `"https://user:***@git.example.com": a repository URL holds a credential`},
		{"https://ghp_s3cr3t@github.com/acme/api", "", "", `"https://***@github.com/acme/api": a repository URL holds a credential`},
		{"https://glpat-s3cr3t:x@gitlab.com/acme/api", "", "", `"https://***:***@gitlab.com/acme/api"`},
		{"", "", "", "empty repository"},
	} {
		url, ref, err := fleet.ParseSpec(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			if err != nil && (strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "xxxxxxxx")) {
				t.Errorf("%q: the error repeats the secret: %v", c.in, err)
			}
			continue
		}
		if err != nil || url != c.url || ref != c.ref {
			t.Errorf("%q: %q %q %v, want %q %q", c.in, url, ref, err, c.url, c.ref)
		}
	}
}

func TestParseListNamesAndErrors(t *testing.T) {
	repos, err := fleet.ParseList([]byte("# fleet\nhttps://x/acme/api.git@main\n\nhttps://y/other/api\n/srv/web web-app\n"), "repos.txt")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, r := range repos {
		if r.Index != i {
			t.Errorf("%s: index %d, want %d", r.Name, r.Index, i)
		}
		got = append(got, r.Name+"="+r.Spec())
	}
	want := "api=https://x/acme/api.git@main api-2=https://y/other/api web-app=/srv/web"
	if strings.Join(got, " ") != want {
		t.Errorf("got %s\nwant %s", strings.Join(got, " "), want)
	}
	for _, c := range []struct{ in, want string }{
		{"a b c\n", "repos.txt:1: want URL[@REF] [NAME]"},
		{"/a x\n/b x\n", "repos.txt:2: name \"x\" is already used on line 1"},
		{"/a ../up\n", "repos.txt:1: name \"../up\""},
		{"# none\n", "no repositories"},
	} {
		if _, err := fleet.ParseList([]byte(c.in), "repos.txt"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
}

func TestShardsCoverTheListOnce(t *testing.T) {
	var b strings.Builder
	for i := range 11 {
		fmt.Fprintf(&b, "/src/r%d\n", i)
	}
	all, err := fleet.ParseList([]byte(b.String()), "l")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 3, 4, 11, 12} {
		seen := map[string]int{}
		for i := 1; i <= n; i++ {
			s, err := fleet.ParseShard(fmt.Sprintf("%d/%d", i, n))
			if err != nil {
				t.Fatal(err)
			}
			part := s.Select(all)
			if len(part) < len(all)/n || len(part) > len(all)/n+1 {
				t.Errorf("shard %s has %d of %d repositories", s, len(part), len(all))
			}
			for _, r := range part {
				seen[r.Name]++
			}
		}
		for _, r := range all {
			if seen[r.Name] != 1 {
				t.Errorf("n=%d: %s is in %d shards", n, r.Name, seen[r.Name])
			}
		}
	}
	for _, bad := range []string{"0/2", "3/2", "1/0", "a/b", "1", "1/2/3"} {
		if _, err := fleet.ParseShard(bad); err == nil {
			t.Errorf("shard %q accepted", bad)
		}
	}
}

func report(status policies.Status, fs ...findings.Finding) *pipeline.Report {
	return &pipeline.Report{SchemaVersion: pipeline.SchemaVersion, Status: status, ExitCode: pipeline.ExitCode(status),
		Findings: fs, Counts: findings.CountBySeverity(fs), Stages: []pipeline.StageReport{{Name: "secrets", Status: status}}}
}

// Run keeps to its limit and turns a scanner's error, panic or missing
// report into that repository's error, never the fleet's.
func TestRunLimitsAndFailsClosedPerRepository(t *testing.T) {
	all, err := fleet.ParseList([]byte("/ok\n/blocked\n/fails\n/panics\n/nil\n/ok2\n"), "l")
	if err != nil {
		t.Fatal(err)
	}
	var running, peak atomic.Int32
	scan := func(ctx context.Context, r fleet.Repo) (fleet.Scanned, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		switch r.Name {
		case "blocked":
			return fleet.Scanned{Report: report(policies.StatusBlocked)}, nil
		case "fails":
			return fleet.Scanned{}, errors.New("clone: repository not found")
		case "panics":
			panic("tool crashed")
		case "nil":
			return fleet.Scanned{}, nil
		}
		return fleet.Scanned{Report: report(policies.StatusPassed), Commit: "abc"}, nil
	}
	fr := fleet.Run(context.Background(), fleet.Config{All: all, Jobs: 2, Scan: scan})
	if peak.Load() > 2 || peak.Load() < 1 {
		t.Errorf("%d scans at once, limit 2", peak.Load())
	}
	want := map[string]policies.Status{"ok": "passed", "blocked": "blocked", "fails": "error", "panics": "error", "nil": "error", "ok2": "passed"}
	for i, r := range fr.Repos {
		if r.Index != i || r.Status != want[r.Name] {
			t.Errorf("%d %s: %s, want %s", r.Index, r.Name, r.Status, want[r.Name])
		}
		if r.Status == policies.StatusError && (r.Error == "" || fr.Reports[r.Name] == nil || fr.Reports[r.Name].ExitCode != 2) {
			t.Errorf("%s: error %q, report %v", r.Name, r.Error, fr.Reports[r.Name])
		}
	}
	if fr.Rollup.Error != 3 || fr.Rollup.Passed != 2 || fr.Rollup.Blocked != 1 || fr.ExitCode != 2 {
		t.Errorf("roll-up %+v exit %d", fr.Rollup, fr.ExitCode)
	}
	if !strings.Contains(fr.Repos[3].Error, "panicked: tool crashed") {
		t.Errorf("panics: %q", fr.Repos[3].Error)
	}
}

func TestMergeRefusesPartsOfOtherFleets(t *testing.T) {
	all, _ := fleet.ParseList([]byte("/a\n/b\n/c\n"), "l")
	other, _ := fleet.ParseList([]byte("/a\n/b\n/d\n"), "l")
	scan := func(ctx context.Context, r fleet.Repo) (fleet.Scanned, error) {
		return fleet.Scanned{Report: report(policies.StatusPassed)}, nil
	}
	part := func(list []fleet.Repo, s string) *fleet.Report {
		sh, err := fleet.ParseShard(s)
		if err != nil {
			t.Fatal(err)
		}
		return fleet.Run(context.Background(), fleet.Config{All: list, Shard: sh, Jobs: 1, Scan: scan})
	}
	whole := fleet.Run(context.Background(), fleet.Config{All: all, Jobs: 1, Scan: scan})
	m, err := fleet.Merge([]*fleet.Report{part(all, "2/2"), part(all, "1/2")})
	if err != nil || len(m.Repos) != 3 || m.Repos[0].Name != "a" || !reflect.DeepEqual(m.Rollup, whole.Rollup) {
		t.Errorf("merge: %v %+v", err, m)
	}
	for _, c := range []struct {
		parts []*fleet.Report
		want  string
	}{
		{[]*fleet.Report{part(all, "1/2")}, "shard 2/2 missing"},
		{[]*fleet.Report{part(all, "1/2"), part(all, "1/2")}, "given twice"},
		{[]*fleet.Report{part(all, "1/2"), part(other, "2/2")}, "another list"},
		{[]*fleet.Report{part(all, "1/2"), part(all, "2/3")}, "one of 2"},
	} {
		if _, err := fleet.Merge(c.parts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("merge: %v, want %q", err, c.want)
		}
	}
}

// The fleet's verdict follows its roll-up: a status this version does not
// know (a shard from a newer dagsec) is an error wherever it stands in the
// list, never outweighed by a pass after it.
func TestFleetVerdictFailsClosedOnUnknownStatus(t *testing.T) {
	for _, tt := range []struct {
		name     string
		statuses []policies.Status
		want     policies.Status
	}{
		{"unknown first", []policies.Status{"future", policies.StatusPassed}, policies.StatusError},
		{"unknown last", []policies.Status{policies.StatusPassed, "future"}, policies.StatusError},
		{"blocked over nothing scanned", []policies.Status{policies.StatusSkipped, policies.StatusBlocked, policies.StatusWarned}, policies.StatusBlocked},
		{"nothing scanned over warned", []policies.Status{policies.StatusWarned, policies.StatusSkipped}, policies.StatusSkipped},
		{"no repositories", nil, policies.StatusSkipped},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fr := &fleet.Report{}
			for i, s := range tt.statuses {
				fr.Repos = append(fr.Repos, fleet.RepoResult{Repo: fleet.Repo{Name: fmt.Sprintf("r%d", i)}, Status: s})
			}
			fr.Finish()
			if fr.Status != tt.want || fr.ExitCode != pipeline.ExitCode(tt.want) {
				t.Errorf("fleet %s exit %d, want %s", fr.Status, fr.ExitCode, tt.want)
			}
		})
	}
}
