package host_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline/host"
	"github.com/dagsec/dagsec/stages"
)

// TestEnsureVulnDB builds the pinned database for real (a few minutes the
// first time, then cached in the shared tools folder) and checks both layouts.
func TestEnsureVulnDB(t *testing.T) {
	inst := testenv.Installer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	dir, err := inst.EnsureVulnDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(inst.Dir, "vulndb@"+stages.VulnDBVersion); dir != want {
		t.Errorf("database in %s, want %s", dir, want)
	}
	st, err := host.ReadVulnDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Module != stages.VulnDBModule || st.Version != stages.VulnDBVersion || st.Entries < 4000 {
		t.Errorf("stamp %+v", st)
	}

	// govulncheck layout: index files and one entry per advisory.
	var dbIndex struct{ Modified string }
	b, err := os.ReadFile(filepath.Join(dir, stages.VulnDBGovulncheck, "index", "db.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Stamped with the vulndb commit time of the pseudo-version (the OSV
	// files themselves all say 0001-01-01).
	if err := json.Unmarshal(b, &dbIndex); err != nil || dbIndex.Modified != "2026-11-05T23:49:57Z" {
		t.Errorf("index/db.json %q: %v", b, err)
	}
	ids, _ := filepath.Glob(filepath.Join(dir, stages.VulnDBGovulncheck, "ID", "GO-*.json"))
	if len(ids) != st.Entries {
		t.Errorf("%d entries in ID/, stamp says %d", len(ids), st.Entries)
	}
	for _, f := range []string{"ID/GO-2021-0113.json", "ID/GO-2021-0113.json.gz", "index/modules.json.gz", "index/vulns.json"} {
		if _, err := os.Stat(filepath.Join(dir, stages.VulnDBGovulncheck, filepath.FromSlash(f))); err != nil {
			t.Error(err)
		}
	}

	// osv-scanner layout: the same entries, zipped.
	zr, err := zip.OpenReader(filepath.Join(dir, stages.VulnDBOSVScanner, filepath.FromSlash(stages.VulnDBOSVGoZip)))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != st.Entries {
		t.Errorf("zip holds %d files, stamp says %d", len(zr.File), st.Entries)
	}
	found := false
	for _, f := range zr.File {
		if f.Name != "GO-2021-0113.json" {
			continue
		}
		found = true
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			ID      string
			Aliases []string
		}
		err = json.NewDecoder(rc).Decode(&e)
		rc.Close()
		if err != nil || e.ID != "GO-2021-0113" || !strings.Contains(strings.Join(e.Aliases, ","), "CVE-2021-38561") {
			t.Errorf("GO-2021-0113.json in the zip: %+v, %v", e, err)
		}
	}
	if !found {
		t.Error("GO-2021-0113.json missing from the zip")
	}

	// The second call finds it and builds nothing.
	start := time.Now()
	again, err := (&host.Installer{Dir: inst.Dir, Go: "/nonexistent/go"}).EnsureVulnDB(ctx)
	if err != nil || again != dir {
		t.Fatalf("second call: %q, %v", again, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second call took %s", d)
	}
	leftovers, _ := filepath.Glob(filepath.Join(inst.Dir, "vulndb@*.tmp-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary folders left behind: %v", leftovers)
	}
}

// fakeVulnDB lays out a minimal database folder with the given stamp.
func fakeVulnDB(t *testing.T, dir string, stamp []byte, skip string) {
	t.Helper()
	files := map[string]string{
		stages.VulnDBVersionFile:                         string(stamp),
		"govulncheck/index/db.json":                      `{"modified":"2026-11-05T00:00:00Z"}`,
		"govulncheck/index/modules.json":                 `[]`,
		"osv-scanner/" + stages.VulnDBOSVGoZip:           "PK",
		"govulncheck/ID/GO-2021-0113.json":               "{}",
		"osv-scanner/osv-scalibr/Go/README-not-required": "",
	}
	delete(files, skip)
	testenv.Write(t, dir, files)
}

func TestVulnDBReadyAndRead(t *testing.T) {
	good := stages.VulnDBStamp{Module: stages.VulnDBModule, Version: stages.VulnDBVersion, Entries: 3}.Marshal()

	t.Run("complete database is used without building", func(t *testing.T) {
		inst := &host.Installer{Dir: t.TempDir(), Go: "/nonexistent/go"}
		fakeVulnDB(t, inst.VulnDBPath(), good, "")
		if !inst.VulnDBReady() {
			t.Fatal("not ready")
		}
		dir, err := inst.EnsureVulnDB(context.Background())
		if err != nil || dir != inst.VulnDBPath() {
			t.Fatalf("%q, %v", dir, err)
		}
	})
	for name, tc := range map[string]struct {
		stamp []byte
		skip  string
	}{
		"no VERSION":      {good, stages.VulnDBVersionFile},
		"no zip":          {good, "osv-scanner/" + stages.VulnDBOSVGoZip},
		"no index":        {good, "govulncheck/index/db.json"},
		"other version":   {stages.VulnDBStamp{Module: stages.VulnDBModule, Version: "v0.0.0-20200101000000-000000000000", Entries: 3}.Marshal(), ""},
		"garbled VERSION": {[]byte("golang.org/x/vulndb\n"), ""},
	} {
		t.Run(name, func(t *testing.T) {
			// Go cannot be found, so EnsureVulnDB must fail rather than
			// accept the incomplete folder.
			inst := &host.Installer{Dir: t.TempDir(), Go: "/nonexistent/go"}
			fakeVulnDB(t, inst.VulnDBPath(), tc.stamp, tc.skip)
			if inst.VulnDBReady() {
				t.Fatal("incomplete database reported ready")
			}
			if dir, err := inst.EnsureVulnDB(context.Background()); err == nil {
				t.Fatalf("EnsureVulnDB accepted it: %s", dir)
			}
		})
	}

	t.Run("ReadVulnDB takes any version", func(t *testing.T) {
		dir := t.TempDir()
		fakeVulnDB(t, dir, stages.VulnDBStamp{Module: stages.VulnDBModule, Version: "v0.0.0-20200101000000-000000000000", Entries: 7}.Marshal(), "")
		st, err := host.ReadVulnDB(dir)
		if err != nil || st.Entries != 7 {
			t.Fatalf("%+v, %v", st, err)
		}
		if _, err := host.ReadVulnDB(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a dagsec vulnerability database") {
			t.Fatalf("empty folder: %v", err)
		}
	})
}
