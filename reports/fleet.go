package reports

import (
	"fmt"

	"github.com/dagsec/dagsec/dashboard"
	"github.com/dagsec/dagsec/fleet"
	"github.com/dagsec/dagsec/reports/gitlab"
)

// FleetFiles returns a fleet folder's own files by name: fleet.json, fleet.md
// (the roll-up for a CI job summary) and fleet.html, with the organisation's
// charts when history (earlier fleet runs) is given.
func FleetFiles(fr *fleet.Report, history []fleet.HistoryRun, opt dashboard.Options) (map[string][]byte, error) {
	js, err := fr.JSON()
	if err != nil {
		return nil, err
	}
	html, err := dashboard.Fleet(fr, history, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dashboard.FleetFile, err)
	}
	return map[string][]byte{fleet.ReportFile: js, fleet.SummaryFile: []byte(fr.Markdown()), dashboard.FleetFile: html}, nil
}

// RepoFolders returns each repository's report folder (Files), by the
// repository's folder name.
func RepoFolders(fr *fleet.Report, gl gitlab.Options) (map[string]map[string][]byte, error) {
	out := map[string]map[string][]byte{}
	for _, r := range fr.Repos {
		rep := fr.Reports[r.Name]
		if rep == nil {
			return nil, fmt.Errorf("fleet: no run report for %s", r.Name)
		}
		files, err := Files(rep, gl)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		out[r.Dir] = files
	}
	return out, nil
}
