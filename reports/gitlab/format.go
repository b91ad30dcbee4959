// Package gitlab writes a dagsec run report as the report artifacts GitLab
// reads, so findings show where people look in a merge request:
//
//   - SecurityReports: GitLab security reports (schema 15.1.4) for the
//     merge request security widget, the pipeline's Security tab and the
//     vulnerability report: gl-sast-report.json, gl-secret-detection-
//     report.json, gl-dependency-scanning-report.json, gl-container-
//     scanning-report.json and gl-dast-report.json.
//   - CodeQuality: gl-code-quality-report.json, GitLab's subset of the Code
//     Climate issue format, which every GitLab tier shows in the merge
//     request widget.
//
// Both read only the run report, so a saved report.json gives the same
// files as the run that wrote it.
//
// The JSON types here mirror those of GitLab's own Go library for these
// reports (gitlab.com/gitlab-org/security-products/analyzers/report/v5,
// v5.3.0, which writes schema 15.1.4): same field names, same JSON keys,
// same severity words and scan time layout. dagsec does not import it: its
// root package pulls in go-git (through its ruleset package) with known
// vulnerabilities at the versions it pins, sets a global logrus formatter
// in init, computes vulnerability ids as a hash of the whole vulnerability
// instead of taking a stable id, and has no DAST location fields.
package gitlab

import (
	"bytes"
	"encoding/json"
	"time"
)

// SchemaVersion is the version of GitLab's security report schemas the
// security reports declare and are tested against.
const SchemaVersion = "15.1.4"

// File names of the report artifacts, as GitLab's analyzers name them.
const (
	SASTFile              = "gl-sast-report.json"
	SecretDetectionFile   = "gl-secret-detection-report.json"
	DependencyScanFile    = "gl-dependency-scanning-report.json"
	ContainerScanningFile = "gl-container-scanning-report.json"
	DASTFile              = "gl-dast-report.json"
	CodeQualityFile       = "gl-code-quality-report.json"
)

// scanTimeLayout is the schema's start_time/end_time format: UTC, no zone.
const scanTimeLayout = "2006-01-02T15:04:05"

// secReport is a security report (report.Report of GitLab's library).
type secReport struct {
	Version         string          `json:"version"`
	Vulnerabilities []vulnerability `json:"vulnerabilities"`
	Scan            scan            `json:"scan"`
}

// scan is report.Scan, plus the messages and (DAST) scanned resources the
// schema defines.
type scan struct {
	Analyzer  scannerDetails `json:"analyzer"`
	Scanner   scannerDetails `json:"scanner"`
	Type      string         `json:"type"`
	StartTime string         `json:"start_time"`
	EndTime   string         `json:"end_time"`
	Status    string         `json:"status"`
	Messages  []scanMessage  `json:"messages,omitempty"`
	// ScannedResources is required in DAST reports (possibly empty) and
	// absent from the others.
	ScannedResources *[]scannedResource `json:"scanned_resources,omitempty"`
}

type scannerDetails struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	URL     string `json:"url,omitempty"`
	Vendor  vendor `json:"vendor"`
	Version string `json:"version"`
}

type vendor struct {
	Name string `json:"name"`
}

type scanMessage struct {
	Level string `json:"level"` // info, warn or fatal
	Value string `json:"value"`
}

type scannedResource struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	Type   string `json:"type"` // always "url"
}

// vulnerability is report.Vulnerability without its deprecated fields
// (category, cve, confidence, scanner) and with its id a field, not a hash
// of the rest.
type vulnerability struct {
	ID          string       `json:"id"`
	Name        string       `json:"name,omitempty"`
	Description string       `json:"description,omitempty"`
	Severity    string       `json:"severity"`
	Location    location     `json:"location"`
	Identifiers []identifier `json:"identifiers"`
	Links       []link       `json:"links,omitempty"`
}

// location holds the fields of every category's location; each category
// fills its own (report.Location, plus DAST's hostname, path and param).
type location struct {
	File            string      `json:"file,omitempty"`
	Commit          *commit     `json:"commit,omitempty"`
	StartLine       int         `json:"start_line,omitempty"`
	EndLine         int         `json:"end_line,omitempty"`
	Dependency      *dependency `json:"dependency,omitempty"`
	OperatingSystem string      `json:"operating_system,omitempty"`
	Image           string      `json:"image,omitempty"`
	Hostname        string      `json:"hostname,omitempty"`
	Method          string      `json:"method,omitempty"`
	Path            string      `json:"path,omitempty"`
	Param           string      `json:"param,omitempty"`
}

type commit struct {
	Sha string `json:"sha"`
}

// dependency is report.Dependency; Version is always written (the schema
// requires the key, an empty string included).
type dependency struct {
	Package pkg    `json:"package"`
	Version string `json:"version"`
}

type pkg struct {
	Name string `json:"name"`
}

type identifier struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
	URL   string `json:"url,omitempty"`
}

type link struct {
	Name string `json:"name,omitempty"`
	URL  string `json:"url"`
}

// scanTime formats t as the schema wants it.
func scanTime(t time.Time) string { return t.UTC().Format(scanTimeLayout) }

// marshal writes indented JSON without HTML escaping (messages hold < and
// & often: URLs, code) and with a final newline.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
