package policies

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// fzCheckErrors fails unless err is at most maxErrors problems, each an
// *Error naming file and a line of data (or 0, or the line after the last,
// where the end of the file is).
func fzCheckErrors(t *testing.T, data []byte, file string, err error) {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	if len(errs) == 0 || len(errs) > maxErrors {
		t.Fatalf("%d problems reported, want 1 to %d: %v", len(errs), maxErrors, err)
	}
	// YAML breaks lines at \r and \n, and yaml.v3 (libyaml) at NEL, LS and
	// PS too; a CRLF counts twice here, which only loosens the bound.
	lines := 1
	for _, br := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
		lines += bytes.Count(data, []byte(br))
	}
	for _, e := range errs {
		var pe *Error
		if !errors.As(e, &pe) {
			t.Fatalf("problem %q is not a located *Error", e)
		}
		if pe.File != file || pe.Line < 0 || pe.Line > lines+1 {
			t.Fatalf("problem located at %s:%d, the file has %d lines: %v", pe.File, pe.Line, lines, e)
		}
		if pe.Msg == "" {
			t.Fatalf("problem at line %d has no message", pe.Line)
		}
	}
}

// FuzzSuppressionsFile reads a suppressions file (dagsec scan
// --suppressions). Every error is located in the file, at most maxErrors of
// them; what it accepts:
//
//   - has a matcher, a justification, an owner and an expiry date;
//   - survives the JSON the run report writes (Suppression and
//     SuppressionUse MarshalJSON/UnmarshalJSON) unchanged;
//   - reads the same as a policy's suppressions: a suppressions file is a
//     valid policy (version and suppressions are policy keys too), and
//     Parse finds the same suppressions in it.
func FuzzSuppressionsFile(f *testing.F) {
	for _, s := range []string{
		"version: 1\nsuppressions:\n  - rule: G104\n    tool: gosec\n    stage: sast\n    path: 'internal/**'\n    justification: legacy code, rewritten in Q3\n    owner: team-platform\n    expires: 2026-12-31\n",
		"suppressions:\n  - fingerprint: 0123456789abcdef0123456789ABCDEF:2\n    justification: j\n    owner: o\n    expires: \"2026-02-28\"\n",
		"suppressions:\n  - {package: '@babel/core@7.0.0', justification: x, owner: y, expires: 2026-06-01}\n  - {package: lodash, path: web/**, justification: x, owner: y, expires: 2026-06-01}\n",
		"suppressions: []\n",
		"suppressions:\n",
		"version: 2\nsuppressions: []\n",
		"suppressions:\n  - rule: x\n    expires: 2026-02-30\n  - justification: only\n  - path: '['\n    owner: o\n",
		"version: 1\n",
		"suppressions: {rule: x}\n",
		"stages: {}\nsuppressions: []\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sups, err := LoadSuppressions(data, "fuzz.yaml")
		if err != nil {
			if sups != nil {
				t.Fatalf("suppressions with the error %v", err)
			}
			fzCheckErrors(t, data, "fuzz.yaml", err)
			return
		}
		for i, s := range sups {
			if s.Justification == "" || s.Owner == "" || s.Expires.IsZero() {
				t.Fatalf("suppression %d is incomplete: %+v", i, s)
			}
			if s.Fingerprint == "" && s.Rule == "" && s.Path == "" && s.Package == "" {
				t.Fatalf("suppression %d has no matcher: %+v", i, s)
			}
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatalf("suppression %d does not marshal: %v", i, err)
			}
			var back Suppression
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("suppression %d: %s does not read back: %v", i, b, err)
			}
			if !reflect.DeepEqual(back, s) {
				t.Fatalf("suppression %d changed through JSON:\n%+v\n%+v", i, s, back)
			}
			use := SuppressionUse{Suppression: s, Matched: i, Suppressed: 2 * i}
			b, err = json.Marshal(use)
			if err != nil {
				t.Fatalf("use %d does not marshal: %v", i, err)
			}
			var useBack SuppressionUse
			if err := json.Unmarshal(b, &useBack); err != nil || !reflect.DeepEqual(useBack, use) {
				t.Fatalf("use %d changed through JSON (%v): %s", i, err, b)
			}
		}
		p, err := Parse(data, "fuzz.yaml", "")
		if err != nil {
			t.Fatalf("a valid suppressions file is not a valid policy: %v", err)
		}
		base, err := Preset(DefaultPreset)
		if err != nil {
			t.Fatal(err)
		}
		if want := append(base.Suppressions, sups...); !reflect.DeepEqual(p.Suppressions, want) && len(want)+len(p.Suppressions) > 0 {
			t.Fatalf("the policy reads other suppressions than the suppressions file:\n%+v\n%+v", p.Suppressions, want)
		}
	})
}

// FuzzParseErrors checks how Parse reports a broken policy: at most
// maxErrors problems, each an *Error naming the file and a line of it.
func FuzzParseErrors(f *testing.F) {
	for _, s := range []string{
		"stages:\n  secrets:\n    blok_on: info\n",
		"version: 1\n---\nversion: 1\n",
		"stages: {sast: {block_on: severe, timeout: -1s, tools: [nope]}, nope: {}}\n",
		"extends: paranoid\n",
		"stages:\n  licenses:\n    allow: [GPL-3.0-only]\n    deny: [GPL-3.0-only]\n",
		"targets: {scanned: 101, open_critical: -1, image_age: 30d}\n",
		"stages:\n  sca: &a {warn_only: true}\n  iac: *a\n  dast: *b\n",
		"\t- not yaml\n",
		"suppressions:\n" + string(bytes.Repeat([]byte("  - rule: x\n"), 30)),
		"production_branch: ''\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := Parse(data, "fuzz.yaml", ""); err != nil {
			fzCheckErrors(t, data, "fuzz.yaml", err)
		}
	})
}
