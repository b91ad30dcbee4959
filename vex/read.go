package vex

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dagsec/dagsec/internal/readfile"
	"github.com/dagsec/dagsec/policies"
)

// MaxSize bounds an OpenVEX document read.
const MaxSize = 16 << 20

// Term is how long a statement suppresses when it gives no expiry (dagsec
// writes one in status_notes): from the statement's time, the longest a
// suppression may last, so every decision is reviewed yearly.
const Term = policies.MaxSuppressionTerm

// ReadFile reads an OpenVEX document as suppressions (see Read).
func ReadFile(path string, now time.Time) ([]policies.Suppression, error) {
	data, err := readfile.Read(path, MaxSize)
	if err != nil {
		return nil, fmt.Errorf("vex: %w", err)
	}
	return Read(data, path, now)
}

var (
	ownerRE   = regexp.MustCompile(`(?:^|;)\s*owner:\s*([^;]+?)\s*(?:;|$)`)
	expiresRE = regexp.MustCompile(`(?:^|;)\s*expires:\s*([^;]+?)\s*(?:;|$)`)
)

// Read turns an OpenVEX document into suppressions: one per package of
// each not_affected or fixed statement, of the statement's vulnerability
// (the finding's rule id), with the statement's justification (its
// impact_statement, else its justification label). The owner is the
// status_notes' "owner: NAME", else the document's author; the expiry the
// status_notes' "expires: YYYY-MM-DD" (at most a year ahead of now), else
// a year from the statement's time. Where statements disagree about a
// vulnerability in a package, the latest one (OpenVEX's order: timestamp,
// then position) decides. Errors name the file, the statement's line and
// the field.
func Read(data []byte, file string, now time.Time) ([]policies.Suppression, error) {
	var doc Document
	if err := json.Unmarshal(data, &doc); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("%s:%d: not valid JSON: %v", file, lineAt(data, se.Offset), se)
		case errors.As(err, &te):
			return nil, fmt.Errorf("%s:%d: %s: want %s, got %s", file, lineAt(data, te.Offset), te.Field, te.Type, te.Value)
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if !strings.HasPrefix(doc.Context, "https://openvex.dev/ns") {
		return nil, fmt.Errorf("%s: @context %q is not OpenVEX's (https://openvex.dev/ns/v0.2.0): not an OpenVEX document", file, doc.Context)
	}
	if len(doc.Statements) == 0 {
		return nil, fmt.Errorf("%s: statements: an OpenVEX document holds at least one statement", file)
	}
	lines := statementLines(data)
	r := reader{file: file, doc: &doc, now: now}
	type decision struct {
		at  time.Time
		sup *policies.Suppression // nil: this statement suppresses nothing
	}
	latest := map[string]decision{}
	var errs []error
	for i, st := range doc.Statements {
		line := 0
		if i < len(lines) {
			line = lines[i]
		}
		sups, at, err := r.statement(st, i, line)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, s := range sups {
			k := s.Rule + "\x00" + strings.ToLower(s.Package)
			if prev, ok := latest[k]; ok && prev.at.After(at) {
				continue
			}
			d := decision{at: at}
			if s.Justification != "" {
				d.sup = &s
			}
			latest[k] = d
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []policies.Suppression
	for _, d := range latest {
		if d.sup != nil {
			out = append(out, *d.sup)
		}
	}
	slices.SortFunc(out, func(a, b policies.Suppression) int {
		return strings.Compare(a.Source+a.Rule+a.Package, b.Source+b.Rule+b.Package)
	})
	return out, nil
}

type reader struct {
	file string
	doc  *Document
	now  time.Time
}

// statement returns a suppression per package the statement names (with
// an empty Justification when it suppresses nothing) and its time.
func (r reader) statement(st Statement, i, line int) ([]policies.Suppression, time.Time, error) {
	at := fmt.Sprintf("%s:%d: statements[%d]", r.file, line, i)
	if st.Vulnerability.Name == "" {
		return nil, time.Time{}, fmt.Errorf("%s.vulnerability.name is required", at)
	}
	if st.Justification != "" && !slices.Contains(justifications, st.Justification) {
		return nil, time.Time{}, fmt.Errorf("%s.justification: %q is not an OpenVEX justification (%s)", at, st.Justification, strings.Join(justifications, ", "))
	}
	when := firstTime(st.LastUpdated, st.Timestamp, r.doc.LastUpdated, r.doc.Timestamp)
	if when.IsZero() {
		return nil, time.Time{}, fmt.Errorf("%s: no timestamp, and the document has none (a statement without an expiry lasts %s from it)", at, Term)
	}
	suppresses := false
	switch st.Status {
	case StatusNotAffected:
		if st.Justification == "" && st.ImpactStatement == "" {
			return nil, time.Time{}, fmt.Errorf("%s: a not_affected statement needs a justification or an impact_statement", at)
		}
		suppresses = true
	case StatusFixed:
		suppresses = true
	case StatusAffected, StatusUnderInvestigation:
	case "":
		return nil, time.Time{}, fmt.Errorf("%s.status is required", at)
	default:
		return nil, time.Time{}, fmt.Errorf("%s.status: %q is not an OpenVEX status (not_affected, affected, fixed, under_investigation)", at, st.Status)
	}
	pkgs, err := packages(st, at)
	if err != nil {
		return nil, time.Time{}, err
	}
	var base policies.Suppression
	if suppresses {
		if base, err = r.decision(st, at, when); err != nil {
			return nil, time.Time{}, err
		}
		base.Source = fmt.Sprintf("%s:%d", r.file, line)
	}
	out := make([]policies.Suppression, 0, len(pkgs))
	for _, p := range pkgs {
		s := base
		s.Rule, s.Package = st.Vulnerability.Name, p
		out = append(out, s)
	}
	return out, when, nil
}

// decision is the justification, owner and expiry of a suppressing
// statement.
func (r reader) decision(st Statement, at string, when time.Time) (policies.Suppression, error) {
	why := st.ImpactStatement
	label := "OpenVEX " + st.Status
	if st.Justification != "" {
		label += ": " + st.Justification
	}
	if why == "" {
		why = label
	} else {
		why += " (" + label + ")"
	}
	s := policies.Suppression{Justification: why, Owner: r.doc.Author}
	if m := ownerRE.FindStringSubmatch(st.StatusNotes); m != nil {
		s.Owner = m[1]
	}
	if s.Owner == "" {
		s.Owner = "the author of " + r.file + " (it names none)"
	}
	s.Expires = policies.EndOfDay(policies.LatestExpiry(when))
	if m := expiresRE.FindStringSubmatch(st.StatusNotes); m != nil {
		day, err := time.Parse(policies.DateLayout, m[1])
		if err != nil {
			return s, fmt.Errorf("%s.status_notes: expires: want a date YYYY-MM-DD, got %q", at, m[1])
		}
		if latest := policies.LatestExpiry(r.now); day.After(latest) {
			return s, fmt.Errorf("%s.status_notes: expires %s is more than %s ahead (latest: %s); suppressions are reviewed at least yearly",
				at, m[1], Term, latest.Format(policies.DateLayout))
		}
		s.Expires = policies.EndOfDay(day)
	}
	return s, nil
}

// packages are the name@version of each package the statement is about:
// a product's subcomponents when it lists some, else the product itself.
func packages(st Statement, at string) ([]string, error) {
	var out []string
	add := func(c Component, field string) error {
		purl := c.purl()
		if purl == "" {
			return fmt.Errorf("%s: names no package URL (pkg:...) in @id or identifiers.purl, so it matches no finding", field)
		}
		name, version, err := ParsePackageURL(purl)
		if err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		p := name
		if version != "" {
			p += "@" + version
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
		return nil
	}
	for j, prod := range st.Products {
		field := fmt.Sprintf("%s.products[%d]", at, j)
		if len(prod.Subcomponents) == 0 {
			if err := add(prod, field); err != nil {
				return nil, err
			}
			continue
		}
		for k, sub := range prod.Subcomponents {
			if err := add(sub, fmt.Sprintf("%s.subcomponents[%d]", field, k)); err != nil {
				return nil, err
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s.products: none given, so the statement matches no finding", at)
	}
	return out, nil
}

func firstTime(ts ...*time.Time) time.Time {
	for _, t := range ts {
		if t != nil && !t.IsZero() {
			return *t
		}
	}
	return time.Time{}
}

// lineAt is the 1-based line of a byte offset.
func lineAt(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// statementLines finds the line each statement starts on; nil when the
// document cannot be walked (Unmarshal has reported why by then).
func statementLines(data []byte) []int {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil
		}
		if k != "statements" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return nil
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return nil
		}
		var lines []int
		for dec.More() {
			off := dec.InputOffset()
			for off < int64(len(data)) && data[off] != '{' && data[off] != '[' && data[off] != '"' {
				off++
			}
			lines = append(lines, lineAt(data, off))
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return lines
			}
		}
		return lines
	}
	return nil
}
