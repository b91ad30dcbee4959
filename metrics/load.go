package metrics

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dagsec/dagsec/internal/readfile"
	"github.com/dagsec/dagsec/pipeline"
)

// SavedRun is a run report of the history, with what History reads from
// the report's JSON beyond pipeline.Report.
type SavedRun struct {
	// File is where the report was read from ("" when built in memory).
	File   string
	Report *pipeline.Report
	// ManifestsDigest is the report's manifests_digest (ManifestsDigest of
	// the scanned source); "" when the report has none.
	//
	// Once pipeline.Report carries the field, this is a copy of it.
	ManifestsDigest string
}

// Saved wraps reports built in memory as a history, reading nothing else.
func Saved(reports ...*pipeline.Report) []SavedRun {
	out := make([]SavedRun, len(reports))
	for i, r := range reports {
		out[i] = SavedRun{Report: r}
	}
	return out
}

// ReadSavedRun parses one saved run report (pipeline.ReadReport's checks,
// and a start time), keeping its manifests_digest.
func ReadSavedRun(data []byte) (SavedRun, error) {
	rep, err := pipeline.ReadReport(data)
	if err != nil {
		return SavedRun{}, err
	}
	if rep.StartedAt.IsZero() {
		return SavedRun{}, fmt.Errorf("run report has no started_at")
	}
	return SavedRun{Report: rep, ManifestsDigest: rep.ManifestsDigest}, nil
}

// LoadHistory reads the saved run reports of a folder: every *.json file in
// it (other than hidden ones), and report.json in each of its subfolders (a
// report folder as dagsec scan writes it, whose other JSON files are not
// run reports). Every file read must be a dagsec run report: anything else
// is an error naming the file, so a folder of mixed JSON is never half
// read. The runs come sorted by start time (then file name); a folder
// without reports is an error.
func LoadHistory(dir string) ([]SavedRun, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("history folder: %w", err)
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		switch {
		case e.IsDir():
			sub := filepath.Join(p, "report.json")
			if st, err := os.Stat(sub); err == nil && st.Mode().IsRegular() {
				files = append(files, sub)
			}
		case strings.HasSuffix(name, ".json"):
			files = append(files, p)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("history folder %s holds no run reports (*.json, or report.json in a subfolder)", dir)
	}
	runs := make([]SavedRun, 0, len(files))
	for _, f := range files {
		data, err := readfile.Read(f, pipeline.MaxReportSize)
		if err != nil {
			return nil, err
		}
		r, err := ReadSavedRun(data)
		if err != nil {
			return nil, fmt.Errorf("%s is not a dagsec run report: %w (a history folder holds run reports only: *.json, or report folders as subfolders)", f, err)
		}
		r.File = f
		runs = append(runs, r)
	}
	sortRuns(runs)
	return runs, nil
}

// sortRuns orders runs by start time, then file name.
func sortRuns(runs []SavedRun) {
	slices.SortStableFunc(runs, func(a, b SavedRun) int {
		if c := a.Report.StartedAt.Compare(b.Report.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.File, b.File)
	})
}
