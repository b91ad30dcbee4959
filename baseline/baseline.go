// Package baseline compares a run's findings with an earlier run's, so a
// gate can judge only what is new.
//
// A baseline is read from what dagsec itself wrote: the run report
// (report.json) or its SARIF log (results.sarif, or any of the split
// results-N.sarif files). Findings are matched by fingerprint only
// (findings.Fingerprint: stage, tool, rule, path and a tool-specific,
// whitespace-normalised identity, never lines or messages), so a finding
// that moved, was re-indented or reworded by a newer tool version is still
// known; anything that changes its file, rule or identity is new.
package baseline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/readfile"
	"github.com/dagsec/dagsec/sarifio"
	"github.com/owenrumney/go-sarif/v2/sarif"
)

// ReportSchemaVersion is the run report layout Load reads
// (pipeline.SchemaVersion; this package cannot import pipeline, which
// imports it, and pipeline's tests check that the two agree).
const ReportSchemaVersion = "1"

// MergedFingerprintsKey names, in a SARIF result's properties, the
// fingerprints of other tools' copies merged into it
// (findings.Finding.MergedFingerprints). pipeline writes it; Load reads it.
const MergedFingerprintsKey = "dagsecMergedFingerprints"

// MaxSize caps a baseline file.
const MaxSize = 256 << 20

// Formats Load recognises.
const (
	FormatReport = "report" // dagsec run report, report.json
	FormatSARIF  = "sarif"  // dagsec SARIF log, results.sarif
)

// Baseline is the set of fingerprints an earlier run reported.
type Baseline struct {
	name   string
	format string
	known  map[string]bool
	count  int
}

// Name is the name Load was given (the file), for reports.
func (b *Baseline) Name() string { return b.name }

// Format is FormatReport or FormatSARIF.
func (b *Baseline) Format() string { return b.format }

// Len is how many findings the baseline holds.
func (b *Baseline) Len() int { return b.count }

// Known reports whether a fingerprint was in the baseline, as a finding's
// own or as the fingerprint of a copy merged into one.
func (b *Baseline) Known(fingerprint string) bool {
	return fingerprint != "" && b.known[fingerprint]
}

// Mark sets Baseline on every finding of fs, in place, and returns fs:
// "known" when its fingerprint, or that of any copy merged into it
// (MergedFingerprints), is in the baseline, else "new". Merged fingerprints
// count both ways, so an issue two tools report stays known when the other
// tool's copy is kept.
func (b *Baseline) Mark(fs []findings.Finding) []findings.Finding {
	for i := range fs {
		f := &fs[i]
		f.Baseline = findings.BaselineNew
		if b.Known(f.Fingerprint) || slices.ContainsFunc(f.MergedFingerprints, b.Known) {
			f.Baseline = findings.BaselineKnown
		}
	}
	return fs
}

// LoadFile reads a baseline file (see Load).
func LoadFile(path string) (*Baseline, error) {
	data, err := readfile.Read(path, MaxSize)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	return Load(data, path)
}

// LoadFiles reads several baseline files into one: a SARIF log that
// Report.SARIFFiles split into results.sarif, results-2.sarif, ... is whole
// only together. Its Name lists the files, its Format is the first file's.
func LoadFiles(paths ...string) (*Baseline, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("baseline: no file given")
	}
	var all *Baseline
	for _, p := range paths {
		b, err := LoadFile(p)
		if err != nil {
			return nil, err
		}
		if all == nil {
			all = b
			continue
		}
		all.name += ", " + b.name
		all.count += b.count
		for fp := range b.known {
			all.known[fp] = true
		}
	}
	return all, nil
}

// Load reads a baseline; name (the file name) is used in errors and reports.
//
//   - A dagsec run report (a JSON object with "schema_version"): schema
//     version ReportSchemaVersion, every finding valid and fingerprinted.
//     Each finding's fingerprint and merged_fingerprints are known.
//   - A SARIF 2.1.0 log (a JSON object with "runs"), as dagsec writes it:
//     each result's partialFingerprints["dagsecFingerprint/v1"]
//     (sarifio.FingerprintKey) and its MergedFingerprintsKey property are
//     known. Results of kind pass or notApplicable are skipped. A result
//     without a dagsec fingerprint is an error: SARIF from other tools
//     cannot serve as a baseline. dagsec's fingerprint hashes the
//     tool-specific identity its own parsers read (a package, the code
//     snippet, the redacted match), which a SARIF result does not carry,
//     so one recomputed from ruleId, uri and message would match nothing
//     and silently make every finding new; or, made coarser, hide new
//     findings of a rule in a file that had one. Scan once with dagsec and
//     use its report instead.
//
// Findings of every stage and tool are read; suppressed ones too (a
// baseline is what existed, whatever was decided about it). Empty input, a
// truncated file or anything else is an error.
func Load(data []byte, name string) (*Baseline, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("baseline %s: empty file", name)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("baseline %s: not a JSON object (want a dagsec report.json or results.sarif): %w", name, err)
	}
	b := &Baseline{name: name, known: map[string]bool{}}
	var err error
	switch _, report := probe["schema_version"]; {
	case report:
		b.format = FormatReport
		err = b.loadReport(data)
	case probe["runs"] != nil:
		b.format = FormatSARIF
		err = b.loadSARIF(data)
	default:
		err = fmt.Errorf("neither a dagsec run report (no schema_version) nor a SARIF log (no runs)")
	}
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %w", name, err)
	}
	return b, nil
}

func (b *Baseline) add(fp string, merged []string) {
	b.count++
	b.known[fp] = true
	for _, m := range merged {
		if m != "" {
			b.known[m] = true
		}
	}
}

// runReport is the part of pipeline.Report a baseline reads.
type runReport struct {
	SchemaVersion string             `json:"schema_version"`
	Findings      []findings.Finding `json:"findings"`
}

func (b *Baseline) loadReport(data []byte) error {
	var r runReport
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return fmt.Errorf("run report is not valid: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("run report has trailing data after the JSON object")
	}
	if r.SchemaVersion != ReportSchemaVersion {
		return fmt.Errorf("run report schema_version %q is not supported (want %q)", r.SchemaVersion, ReportSchemaVersion)
	}
	if r.Findings == nil {
		return fmt.Errorf("run report has no findings list")
	}
	for i, f := range r.Findings {
		if err := f.Validate(); err != nil {
			return fmt.Errorf("run report finding %d: %w", i, err)
		}
		if f.Fingerprint == "" {
			return fmt.Errorf("run report finding %d (%s %s) has no fingerprint", i, f.Tool, f.RuleID)
		}
		b.add(f.Fingerprint, f.MergedFingerprints)
	}
	return nil
}

func (b *Baseline) loadSARIF(data []byte) error {
	if err := sarifio.Validate(data); err != nil {
		return fmt.Errorf("not a valid SARIF 2.1.0 log: %w", err)
	}
	log, err := sarif.FromBytes(data)
	if err != nil {
		return fmt.Errorf("SARIF: %w", err)
	}
	for ri, run := range log.Runs {
		if run == nil {
			continue
		}
		where := fmt.Sprintf("run %d", ri)
		if run.AutomationDetails != nil && run.AutomationDetails.ID != nil {
			where += " (" + *run.AutomationDetails.ID + ")"
		}
		for i, res := range run.Results {
			if res == nil {
				return fmt.Errorf("%s result %d is null", where, i)
			}
			if k := deref(res.Kind); k == "pass" || k == "notApplicable" {
				continue
			}
			fp, _ := res.PartialFingerprints[sarifio.FingerprintKey].(string)
			if strings.TrimSpace(fp) == "" {
				return fmt.Errorf("%s result %d (%s) has no partialFingerprints[%q]: not a SARIF log dagsec wrote; use dagsec's report.json or results.sarif as the baseline",
					where, i, deref(res.RuleID), sarifio.FingerprintKey)
			}
			b.add(fp, sarifio.PropertyStrings(res.Properties, MergedFingerprintsKey))
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
