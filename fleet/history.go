package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dagsec/dagsec/internal/readfile"
	"github.com/dagsec/dagsec/metrics"
	"github.com/dagsec/dagsec/pipeline"
)

// MaxReportSize caps fleet.json read back: a few hundred bytes a
// repository.
const MaxReportSize = 64 << 20

// HistoryRun is one saved fleet run: its fleet.json and each repository's
// run report.
type HistoryRun struct {
	Dir   string
	Fleet *Report
	Runs  map[string]metrics.SavedRun
}

// IsFleetFolder reports whether dir holds a fleet run (fleet.json).
func IsFleetFolder(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, ReportFile))
	return err == nil && st.Mode().IsRegular()
}

// IsHistory reports whether dir is a fleet run or holds fleet runs as
// subfolders.
func IsHistory(dir string) bool {
	if IsFleetFolder(dir) {
		return true
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && IsFleetFolder(filepath.Join(dir, e.Name())) {
			return true
		}
	}
	return false
}

// LoadFolder reads a fleet folder as `dagsec fleet` writes it: fleet.json
// and the report.json of every repository it lists (each one must be
// there and be a run report: a history never silently loses a repository).
func LoadFolder(dir string) (HistoryRun, error) {
	file := filepath.Join(dir, ReportFile)
	data, err := readfile.Read(file, MaxReportSize)
	if err != nil {
		return HistoryRun{}, err
	}
	fr, err := ReadReport(data, file)
	if err != nil {
		return HistoryRun{}, err
	}
	hr := HistoryRun{Dir: dir, Fleet: fr, Runs: map[string]metrics.SavedRun{}}
	for _, r := range fr.Repos {
		rf := filepath.Join(dir, r.Dir, "report.json")
		data, err := readfile.Read(rf, pipeline.MaxReportSize)
		if err != nil {
			return HistoryRun{}, fmt.Errorf("fleet %s lists %s: %w", file, r.Name, err)
		}
		run, err := metrics.ReadSavedRun(data)
		if err != nil {
			return HistoryRun{}, fmt.Errorf("%s: %w", rf, err)
		}
		run.File = rf
		hr.Runs[r.Name] = run
		fr.Reports[r.Name] = run.Report
	}
	return hr, nil
}

// LoadHistory reads a folder of saved fleet runs (each subfolder holding
// a fleet.json), or one fleet run, oldest first.
func LoadHistory(dir string) ([]HistoryRun, error) {
	if IsFleetFolder(dir) {
		hr, err := LoadFolder(dir)
		if err != nil {
			return nil, err
		}
		return []HistoryRun{hr}, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("fleet history: %w", err)
	}
	var out []HistoryRun
	for _, e := range entries {
		sub := filepath.Join(dir, e.Name())
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || !IsFleetFolder(sub) {
			continue
		}
		hr, err := LoadFolder(sub)
		if err != nil {
			return nil, err
		}
		out = append(out, hr)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("fleet history %s holds no fleet runs (subfolders with %s)", dir, ReportFile)
	}
	slices.SortStableFunc(out, func(a, b HistoryRun) int {
		if c := a.Fleet.StartedAt.Compare(b.Fleet.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Dir, b.Dir)
	})
	return out, nil
}

// ByRepo is each repository's runs over a fleet history, by name.
func ByRepo(runs []HistoryRun) map[string][]metrics.SavedRun {
	out := map[string][]metrics.SavedRun{}
	for _, hr := range runs {
		for name, r := range hr.Runs {
			out[name] = append(out[name], r)
		}
	}
	return out
}
