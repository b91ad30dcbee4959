package policies

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error is located in
// the file, and that whatever parses marshals and parses back unchanged.
func FuzzParse(f *testing.F) {
	for _, n := range PresetNames() {
		data, err := presetFS.ReadFile("presets/" + n + ".yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(0))
	}
	f.Add([]byte("stages:\n  secrets:\n    blok_on: info\n"), uint8(1))
	f.Add([]byte("version: 1\n---\nversion: 1\n"), uint8(2))
	f.Add([]byte("stages:\n  sca: &a {warn_only: true}\n  iac: *a\n"), uint8(3))
	f.Add([]byte("stages: {secrets: {tools: [gitleaks], timeout: 1h}}\n"), uint8(0))
	f.Add([]byte("stages:\n  sast:\n    rulesets: [p/jwt, rules/x.yml]\n  sca:\n    unreachable_severity: medium\n    db_refresh: 12h\n"), uint8(0))
	f.Add([]byte("stages:\n  licenses:\n    allow: [MIT, LicenseRef-x]\n    deny: []\n    unknown_license: block\n"), uint8(1))
	f.Add([]byte("stages:\n  licenses:\n    allow: [GPL-3.0-only]\n"), uint8(0))
	f.Add([]byte("stages:\n  sca:\n    rulesets: [p/jwt]\n  licenses:\n    denny: [MIT]\n"), uint8(2))
	f.Add([]byte("stages:\n  sast:\n    severity: {G104: low, semgrep/x.y: critical, \"10038\": high}\n"), uint8(0))
	f.Add([]byte("stages:\n  sca:\n    severity:\n      gosec/G104: low\n      '': high\n"), uint8(1))
	f.Add([]byte("suppressions:\n  - rule: G104\n    tool: gosec\n    stage: sast\n    path: 'internal/**'\n    justification: |\n      legacy\n    owner: team\n    expires: 2020-01-31\n"), uint8(0))
	f.Add([]byte("suppressions:\n  - {package: '@babel/core@7.0.0', justification: x, owner: y, expires: '2021-02-28'}\n  - {fingerprint: 0123456789ABCDEF0123456789abcdef:2, justification: x, owner: y, expires: 2021-03-01}\n"), uint8(2))
	f.Add([]byte("suppressions:\n  - rule: G104\n    owner: ''\n    expires: 2021-02-30\n  - path: src/\n"), uint8(0))
	f.Add([]byte("targets: {mttr_critical: 24h, mttr_high: 72h, scanned: 99.5, open_critical: 1, secret_leaks: 2, image_age: 2160h}\n"), uint8(3))
	f.Add([]byte("targets:\n  scanned: 101\n  open_critical: -1\n  mttr_high: 0s\n  image_age: 30d\n"), uint8(0))
	f.Add([]byte("images:\n  trivy: mirror.internal/aquasec/trivy:0.74.0\n  helper: mirror.internal/library/busybox:1.37.0\n"), uint8(1))
	f.Add([]byte("images: {trivvy: 'https://x/y', gitleaks: '', zap: 'a b'}\n"), uint8(0))
	presets := append([]string{""}, PresetNames()...)
	f.Fuzz(func(t *testing.T, data []byte, pick uint8) {
		preset := presets[int(pick)%len(presets)]
		p, err := Parse(data, "fuzz.yaml", preset)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatalf("parsed policy does not marshal: %v", err)
		}
		back, err := Parse(out, "fuzz.yaml", "")
		if err != nil {
			t.Fatalf("marshalled policy does not parse: %v\n%s", err, out)
		}
		// Sources name lines of the file they were read from.
		if len(back.Suppressions) != len(p.Suppressions) {
			t.Fatalf("round trip has %d suppressions, want %d\n%s", len(back.Suppressions), len(p.Suppressions), out)
		}
		for i := range back.Suppressions {
			back.Suppressions[i].Source = p.Suppressions[i].Source
		}
		if !reflect.DeepEqual(back, p) {
			t.Fatalf("round trip changed the policy\n%s", out)
		}
	})
}

// LoadSuppressions must refuse bad input with an error, never panic, and
// every suppression it accepts has its required fields.
func FuzzLoadSuppressions(f *testing.F) {
	f.Add([]byte("suppressions:\n  - rule: G104\n    justification: j\n    owner: o\n    expires: 2026-12-31\n"))
	f.Add([]byte("version: 1\nsuppressions:\n  - package: lodash@4.17.20\n    path: \"src/**\"\n    justification: j\n    owner: o\n    expires: 2026-12-01\n"))
	f.Add([]byte("suppressions: []\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sups, err := LoadSuppressions(data, "fuzz.yaml")
		if err != nil {
			return
		}
		for _, s := range sups {
			if s.Justification == "" || s.Owner == "" || s.Expires.IsZero() {
				t.Fatalf("accepted an incomplete suppression: %+v", s)
			}
		}
	})
}
